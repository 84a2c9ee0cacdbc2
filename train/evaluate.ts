/**
 * Inference over a set of samples: predictions (DGCM: through
 * `dgcmDecision`, indices into EMOTIONS_7) and the mean loss.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { MerModel } from "../model/types.ts";
import type { FlowSample } from "../data/types.ts";
import { dgcmDecision } from "./dgcm.ts";
import { batchLoss, isDgcm } from "./objective.ts";
import { labelIndices, splitBatches, stackBatch } from "./batches.ts";

/** Options of {@linkcode evaluate}. */
export interface EvaluateOptions {
  /** samples per forward pass. */
  batchSize: number;
  /** DGCM: the α of the loss reported (default 1). */
  alpha?: number;
  /**
   * run with `ForwardOptions.checkpoint` (default false): in inference each
   * token block's intermediates are freed as soon as the block ends; same
   * predictions and loss.
   */
  checkpoint?: boolean;
}

/** Predictions and mean loss of a model on a set of samples. */
export interface Evaluation {
  /** predicted class index per sample, in sample order. */
  pred: Int32Array;
  /** true class index per sample. */
  truth: Int32Array;
  /**
   * the training objective in inference mode (CE, or the DGCM loss at the
   * given α), averaged over batches weighted by their size.
   */
  loss: number;
}

/**
 * Runs a model in inference mode over samples in consecutive batches and
 * returns its predictions (DGCM: through `dgcmDecision`, indices into
 * EMOTIONS_7) and mean loss.
 *
 * @param model the model.
 * @param samples the samples; their labels must be in `classes`.
 * @param classes the dataset classes.
 * @param options batch size and DGCM α.
 */
export async function evaluate(
  model: MerModel,
  samples: readonly FlowSample[],
  classes: readonly string[],
  options: EvaluateOptions,
): Promise<Evaluation> {
  const truth = labelIndices(samples, classes, "evaluation");
  const pred = new Int32Array(samples.length);
  const dgcm = isDgcm(model);
  const alpha = options.alpha ?? 1;
  let lossSum = 0;
  const order = Array.from({ length: samples.length }, (_, i) => i);
  for (const batch of splitBatches(order, options.batchSize, false)) {
    const [p, l] = tf.tidy(() => {
      const x = stackBatch(samples, batch);
      const out = model.apply(x, {
        training: false,
        checkpoint: options.checkpoint ?? false,
      });
      const loss = batchLoss(out, truth, batch, dgcm, alpha);
      const predicted = dgcm
        ? dgcmDecision(out.coarse!, out.fine!)
        : tf.argMax(out.logits!, 1);
      return [predicted, loss];
    });
    const [pv, lv] = await Promise.all([p.data(), l.data()]);
    tf.dispose([p, l]);
    pred.set(Int32Array.from(pv), batch[0]);
    lossSum += lv[0] * batch.length;
  }
  return { pred, truth, loss: lossSum / Math.max(1, samples.length) };
}
