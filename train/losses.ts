/**
 * Training losses: softmax cross-entropy and the DGCM loss.
 *
 * Both take integer class targets and build the one-hot encoding on the host
 * side, so their gradients need no gather kernel (the wasm backend lacks
 * UnsortedSegmentSum, gather's gradient).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor1D, Tensor2D } from "../model/mod.ts";

function oneHot(targets: ArrayLike<number>, k: number, what: string) {
  const data = new Float32Array(targets.length * k);
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i];
    if (!Number.isInteger(t) || t < 0 || t >= k) {
      throw new RangeError(
        `${what}: target ${i} is ${t}, expected an integer in [0, ${k})`,
      );
    }
    data[i * k + t] = 1;
  }
  return tf.tensor2d(data, [targets.length, k]);
}

function checkLogits(logits: tf.Tensor, n: number, what: string): void {
  if (logits.rank !== 2 || logits.shape[0] !== n) {
    throw new Error(
      `${what}: logits [${logits.shape}] do not match ${n} targets`,
    );
  }
}

/**
 * Per-sample softmax cross-entropy `−log softmax(logits)[target]`, shape [B].
 *
 * @param logits [B, K] scores.
 * @param targets B class indices in [0, K).
 */
export function crossEntropyPerSample(
  logits: Tensor2D,
  targets: ArrayLike<number>,
): Tensor1D {
  checkLogits(logits, targets.length, "crossEntropy");
  return tf.tidy(() =>
    tf.neg(
      tf.sum(
        tf.mul(
          oneHot(targets, logits.shape[1], "crossEntropy"),
          tf.logSoftmax(logits),
        ),
        1,
      ),
    ) as tf.Tensor1D
  );
}

/**
 * Mean softmax cross-entropy over the batch (PyTorch's
 * `F.cross_entropy(reduction="mean")`).
 *
 * @param logits [B, K] scores.
 * @param targets B class indices in [0, K).
 */
export function crossEntropy(
  logits: Tensor2D,
  targets: ArrayLike<number>,
): Scalar {
  if (targets.length === 0) throw new Error("crossEntropy: empty batch");
  return tf.tidy(() => crossEntropyPerSample(logits, targets).mean());
}

/**
 * DGCM loss `CE(coarse) + α·CE(fine)` where the fine term averages only over
 * the samples whose true label is negative (`fineTargets[i] !== null`). A
 * batch without negative samples has no fine term at all (the fine head then
 * gets no gradient from it, like a `None` grad in PyTorch).
 *
 * @param coarse [B, 4] coarse logits.
 * @param fine [B, 4] fine logits.
 * @param coarseTargets B coarse class indices.
 * @param fineTargets B fine class indices, `null` for non-negative samples.
 * @param alpha weight of the fine term.
 */
export function dgcmLoss(
  coarse: Tensor2D,
  fine: Tensor2D,
  coarseTargets: ArrayLike<number>,
  fineTargets: ArrayLike<number | null>,
  alpha: number,
): Scalar {
  if (!Number.isFinite(alpha)) {
    throw new RangeError(`dgcmLoss: alpha must be finite, got ${alpha}`);
  }
  if (fineTargets.length !== coarseTargets.length) {
    throw new Error(
      `dgcmLoss: ${coarseTargets.length} coarse but ${fineTargets.length} fine targets`,
    );
  }
  checkLogits(fine, fineTargets.length, "dgcmLoss (fine)");
  const rows: number[] = [];
  const targets: number[] = [];
  for (let i = 0; i < fineTargets.length; i++) {
    const t = fineTargets[i];
    if (t !== null) {
      rows.push(i);
      targets.push(t);
    }
  }
  return tf.tidy(() => {
    const coarseLoss = crossEntropy(coarse, coarseTargets);
    if (rows.length === 0) return coarseLoss;
    // Select the negative rows with a 0/1 matrix product (no gather gradient).
    const select = new Float32Array(rows.length * fineTargets.length);
    rows.forEach((r, j) => (select[j * fineTargets.length + r] = 1));
    const picked = tf.matMul(
      tf.tensor2d(select, [rows.length, fineTargets.length]),
      fine,
    );
    return coarseLoss.add(
      crossEntropy(picked as tf.Tensor2D, targets).mul(alpha),
    );
  });
}
