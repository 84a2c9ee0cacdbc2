/**
 * The labels of the Dual-Granularity Classification Module (DGCM): the
 * mapping of the 7 emotions onto its two heads, and its decision rule.
 *
 * A DGCM model has two 4-way heads on the pooled feature: coarse logits
 * over {@link DGCM_COARSE} and fine logits over {@link DGCM_FINE}.
 * Inference takes the coarse argmax; if it is `negative`, the fine argmax
 * decides.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D } from "../model/mod.ts";
import { EMOTIONS_7 } from "../data/types.ts";

/** DGCM coarse classes (index order of the coarse logits). */
export const DGCM_COARSE = [
  "negative",
  "positive",
  "surprise",
  "others",
] as const;

/** DGCM fine classes over negative emotions (index order of the fine logits). */
export const DGCM_FINE = ["anger", "disgust", "fear", "sadness"] as const;

/** EMOTIONS_7 index of each coarse class that is final (negative: -1, decided by the fine head). */
const COARSE_TO_7: readonly number[] = [
  -1,
  EMOTIONS_7.indexOf("happiness"),
  EMOTIONS_7.indexOf("surprise"),
  EMOTIONS_7.indexOf("contempt"),
];

/** EMOTIONS_7 index of each fine class. */
const FINE_TO_7: readonly number[] = DGCM_FINE.map((f) =>
  EMOTIONS_7.indexOf(f)
);

/**
 * DGCM targets of a 7-class label (index into EMOTIONS_7): the coarse class,
 * and the fine class for negative emotions (null otherwise, so the fine loss
 * skips the sample).
 */
export function dgcmTargets(
  label7: number,
): { coarse: number; fine: number | null } {
  if (!Number.isInteger(label7) || label7 < 0 || label7 >= EMOTIONS_7.length) {
    throw new Error(
      `dgcmTargets: label7 must be an index into EMOTIONS_7 (0..${
        EMOTIONS_7.length - 1
      }), got ${label7}`,
    );
  }
  const fine = FINE_TO_7.indexOf(label7);
  if (fine >= 0) return { coarse: 0, fine };
  return { coarse: COARSE_TO_7.indexOf(label7), fine: null };
}

/**
 * DGCM decision: coarse argmax; positive → happiness, surprise → surprise,
 * others → contempt, negative → fine argmax mapped to its emotion. Returns
 * int32 indices into EMOTIONS_7.
 */
export function dgcmDecision(
  coarse: Tensor2D,
  fine: Tensor2D,
): Tensor1D {
  if (
    coarse.shape[1] !== 4 || fine.shape[1] !== 4 ||
    coarse.shape[0] !== fine.shape[0]
  ) {
    throw new Error(
      `dgcmDecision: expected coarse and fine logits [B, 4] with the same B, got [${coarse.shape}] and [${fine.shape}]`,
    );
  }
  return tf.tidy(() => {
    const c = tf.argMax(coarse, 1);
    const f = tf.argMax(fine, 1);
    const coarseMap = tf.tensor1d(
      COARSE_TO_7.map((v) => Math.max(v, 0)),
      "int32",
    );
    const fineMap = tf.tensor1d(FINE_TO_7 as number[], "int32");
    const fromCoarse = tf.gather(coarseMap, c);
    const fromFine = tf.gather(fineMap, f);
    return tf.where(tf.equal(c, 0), fromFine, fromCoarse) as tf.Tensor1D;
  });
}
