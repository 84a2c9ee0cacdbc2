/**
 * Micro-batching: a step's batch runs as chunks of at most
 * `recipe.microBatchSize` samples ({@linkcode microBatches}) whose
 * gradients are accumulated weighted by chunk size
 * ({@linkcode accumulatedGradients}, or {@linkcode accumulatedGradientsOnHost}
 * with the sums in JavaScript memory) before one optimizer step: the
 * full-batch mean-loss gradient for a model without batch statistics.
 * BatchNorm's batch statistics (and running-stat updates) are per
 * micro-batch; the first chunk uses the step's dropout seed and chunk k
 * {@linkcode chunkSeed} of it. With `microBatchSize ≥ batchSize` training
 * is bit-identical to none.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Variable } from "../model/mod.ts";
import { Rng } from "./rng.ts";
import { positiveInt } from "./validate.ts";

/**
 * The micro-batches of a batch of `size` samples: `[start, end)` ranges of
 * at most `microBatchSize` samples, in order (one range when
 * `microBatchSize` is absent or ≥ `size`).
 *
 * @param size samples in the batch (≥ 1).
 * @param microBatchSize the most samples per chunk (integer ≥ 1), or undefined.
 */
export function microBatches(
  size: number,
  microBatchSize?: number,
): [number, number][] {
  if (microBatchSize !== undefined) {
    positiveInt(microBatchSize, "recipe.microBatchSize");
  }
  const m = microBatchSize === undefined
    ? size
    : Math.min(size, microBatchSize);
  const out: [number, number][] = [];
  for (let i = 0; i < size; i += m) out.push([i, Math.min(size, i + m)]);
  return out;
}

/**
 * The dropout seed of micro-batch `k ≥ 1` of a step whose first
 * micro-batch uses `seed` (a fixed function of both, so a step's chunks
 * draw different masks and a rerun draws the same ones).
 */
export function chunkSeed(seed: number, k: number): number {
  return new Rng((seed * 0x9e3779b1 + k) >>> 0).seed();
}

/**
 * The gradients of a batch's mean loss computed over micro-batches: for
 * each `[start, end)` chunk, `lossOf(chunk, k)` returns that chunk's MEAN
 * loss; its gradients are weighted by `(end − start) / total` and summed,
 * so for a model without batch statistics the result equals the gradient
 * of the whole batch's mean loss (up to float rounding). The returned
 * `value` is the same weighted sum of the chunk losses. With one chunk
 * this is exactly `tf.variableGrads` (no rescaling). The caller disposes
 * `value` and the gradients; gradients are keyed by variable name.
 *
 * @param chunks the micro-batches (from {@linkcode microBatches}).
 * @param lossOf builds the mean loss of one chunk (called inside the tape).
 * @param vars the variables to differentiate.
 */
export function accumulatedGradients(
  chunks: readonly [number, number][],
  lossOf: (chunk: [number, number], index: number) => Scalar,
  vars: Variable[],
): { value: Scalar; grads: Map<string, Tensor> } {
  if (chunks.length === 1) {
    const { value, grads } = tf.variableGrads(
      () => lossOf(chunks[0], 0),
      vars,
    );
    return { value, grads: new Map(Object.entries(grads)) };
  }
  const total = chunks.reduce((s, [a, b]) => s + (b - a), 0);
  let value: tf.Scalar | null = null;
  const sums = new Map<string, tf.Tensor>();
  try {
    chunks.forEach((chunk, k) => {
      const w = (chunk[1] - chunk[0]) / total;
      const r = tf.variableGrads(() => lossOf(chunk, k), vars);
      try {
        const prevValue: tf.Scalar | null = value;
        value = tf.tidy(() => {
          const scaled = tf.mul(r.value, w) as tf.Scalar;
          return prevValue ? tf.add(prevValue, scaled) : scaled;
        });
        prevValue?.dispose();
        // one variable at a time, its chunk gradient freed at once: never
        // more than one whole-model gradient copy beside the running sums
        for (const [name, g] of Object.entries(r.grads)) {
          const prev = sums.get(name);
          sums.set(
            name,
            tf.tidy(() => {
              const gw = tf.mul(g, w);
              return prev ? tf.add(prev, gw) : gw;
            }),
          );
          prev?.dispose();
          g.dispose();
        }
      } finally {
        tf.dispose([r.value, ...Object.values(r.grads)]);
      }
    });
  } catch (e) {
    tf.dispose([...(value ? [value] : []), ...sums.values()]);
    throw e;
  }
  return { value: value!, grads: sums };
}

/**
 * {@linkcode accumulatedGradients} with the running sums in JavaScript
 * memory: each chunk's gradient is read back (`dataSync`), disposed at once
 * and added into a `Float32Array` with float32 rounding after each
 * operation — bit-identical to the tensor path — so during a chunk's
 * backward pass the backend holds no gradient sums (on wasm: one
 * parameter-sized copy fewer on the 4 GiB heap). Needs a backend with
 * synchronous reads (`cpu`, `wasm`). The caller disposes `value`.
 *
 * @param chunks the micro-batches (from {@linkcode microBatches}).
 * @param lossOf builds the mean loss of one chunk (called inside the tape).
 * @param vars the variables to differentiate.
 * @returns the weighted loss and the gradient sums keyed by variable name.
 */
export function accumulatedGradientsOnHost(
  chunks: readonly [number, number][],
  lossOf: (chunk: [number, number], index: number) => Scalar,
  vars: Variable[],
): { value: Scalar; grads: Map<string, Float32Array> } {
  const total = chunks.reduce((s, [a, b]) => s + (b - a), 0);
  let value: tf.Scalar | null = null;
  const sums = new Map<string, Float32Array>();
  const f32 = Math.fround;
  try {
    chunks.forEach((chunk, k) => {
      const w = (chunk[1] - chunk[0]) / total;
      const r = tf.variableGrads(() => lossOf(chunk, k), vars);
      try {
        const prevValue: tf.Scalar | null = value;
        value = tf.tidy(() => {
          const scaled = tf.mul(r.value, w) as tf.Scalar;
          return prevValue ? tf.add(prevValue, scaled) : scaled;
        });
        prevValue?.dispose();
        // as tf.mul(g, w): w becomes a float32 scalar
        const wf = f32(w);
        for (const [name, g] of Object.entries(r.grads)) {
          const gv = g.dataSync() as Float32Array;
          g.dispose();
          let sum = sums.get(name);
          if (sum === undefined) {
            sum = new Float32Array(gv.length);
            for (let i = 0; i < gv.length; i++) sum[i] = f32(gv[i] * wf);
            sums.set(name, sum);
          } else {
            for (let i = 0; i < gv.length; i++) {
              sum[i] = f32(sum[i] + f32(gv[i] * wf));
            }
          }
        }
      } finally {
        tf.dispose([r.value, ...Object.values(r.grads)]);
      }
    });
  } catch (e) {
    if (value) (value as tf.Scalar).dispose();
    throw e;
  }
  return { value: value!, grads: sums };
}
