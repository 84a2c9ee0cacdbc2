/**
 * The training objective of a batch: cross-entropy for a linear head, the
 * DGCM loss (coarse + α · fine) for a DGCM model.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { MerModel } from "../model/types.ts";
import { dgcmTargets } from "./dgcm.ts";
import { crossEntropy, dgcmLoss } from "./losses.ts";

/** Whether `model` has the DGCM head (coarse and fine logits). */
export function isDgcm(model: MerModel): boolean {
  return model.config.head === "dgcm";
}

function dgcmTargetArrays(labels: Int32Array) {
  const coarse: number[] = [];
  const fine: (number | null)[] = [];
  for (const l of labels) {
    const t = dgcmTargets(l);
    coarse.push(t.coarse);
    fine.push(t.fine);
  }
  return { coarse, fine };
}

/**
 * The mean loss of the samples `batch` (indices into `labels`) from the
 * model's output on them; `alpha` weighs the DGCM fine loss.
 */
export function batchLoss(
  out: ReturnType<MerModel["apply"]>,
  labels: Int32Array,
  batch: readonly number[],
  dgcm: boolean,
  alpha: number,
): tf.Scalar {
  const targets = batch.map((i) => labels[i]);
  if (dgcm) {
    if (!out.coarse || !out.fine) {
      throw new Error("train: a DGCM model must return coarse and fine logits");
    }
    const t = dgcmTargetArrays(Int32Array.from(targets));
    return dgcmLoss(out.coarse, out.fine, t.coarse, t.fine, alpha);
  }
  if (!out.logits) {
    throw new Error("train: a linear-head model must return logits");
  }
  return crossEntropy(out.logits, targets);
}
