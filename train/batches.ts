/**
 * Batching of flow samples into NHWC tensors.
 *
 * Each training epoch visits the samples in a fresh order drawn from the
 * job's `order` stream ({@linkcode epochOrder}) and cuts it into batches of
 * `batchSize` ({@linkcode splitBatches}).
 *
 * Last partial batch: it is kept, so every sample is seen once per epoch
 * (PyTorch's `drop_last=False`), with one exception: a last batch of a
 * single sample is merged into the previous batch (which then holds
 * `batchSize + 1` samples), because BatchNorm cannot compute batch
 * statistics from one sample. Evaluation batches are plain consecutive
 * slices in the given order.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor4D } from "../model/mod.ts";
import type { FlowSample } from "../data/types.ts";
import type { Rng } from "./rng.ts";

/**
 * The visiting order of one epoch: a permutation of 0..n−1 drawn from the
 * order stream.
 *
 * @param n number of samples.
 * @param rng the job's order stream.
 */
export function epochOrder(n: number, rng: Rng): number[] {
  return rng.permutation(n);
}

/**
 * Cuts an order into batches (see the module doc for the last batch).
 *
 * @param order sample indices in visiting order.
 * @param batchSize samples per batch (integer ≥ 1).
 * @param mergeSingleton merge a last batch of one sample into the previous
 *   one (training: true; evaluation: false).
 */
export function splitBatches(
  order: readonly number[],
  batchSize: number,
  mergeSingleton = true,
): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `batchSize must be an integer ≥ 1, got ${batchSize}`,
    );
  }
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    batches.push(order.slice(i, i + batchSize));
  }
  if (
    mergeSingleton && batches.length > 1 &&
    batches[batches.length - 1].length === 1
  ) {
    const last = batches.pop()!;
    batches[batches.length - 1].push(...last);
  }
  return batches;
}

/** The layout every sample of a batch must share. */
export interface SampleShape {
  /** rows (H). */
  height: number;
  /** columns (W). */
  width: number;
  /** channels (C). */
  channels: number;
}

/**
 * Checks that every sample has the given layout and a data array of matching
 * length; throws naming the first offending sample.
 *
 * @param samples the samples.
 * @param shape the expected layout.
 * @param what where they come from, for the message (e.g. `train`).
 */
export function checkSamples(
  samples: readonly FlowSample[],
  shape: SampleShape,
  what: string,
): void {
  for (const s of samples) {
    if (
      s.height !== shape.height || s.width !== shape.width ||
      s.channels !== shape.channels
    ) {
      throw new Error(
        `${what} sample "${s.id}" is ${s.height}×${s.width}×${s.channels}, expected ${shape.height}×${shape.width}×${shape.channels}`,
      );
    }
    const want = s.height * s.width * s.channels;
    if (!(s.data instanceof Float32Array) || s.data.length !== want) {
      throw new Error(
        `${what} sample "${s.id}" has ${
          s.data?.length ?? "no"
        } data values, expected ${want} (H·W·C float32)`,
      );
    }
  }
}

/**
 * Stacks samples into one NHWC float32 tensor [B, H, W, C].
 *
 * @param samples the dataset.
 * @param indices which samples, in batch order.
 */
export function stackBatch(
  samples: readonly FlowSample[],
  indices: readonly number[],
): Tensor4D {
  if (indices.length === 0) throw new Error("stackBatch: empty batch");
  const first = samples[indices[0]];
  if (first === undefined) {
    throw new RangeError(`stackBatch: no sample at index ${indices[0]}`);
  }
  const { height, width, channels } = first;
  const per = height * width * channels;
  const out = new Float32Array(per * indices.length);
  indices.forEach((idx, j) => {
    const s = samples[idx];
    if (s === undefined) {
      throw new RangeError(`stackBatch: no sample at index ${idx}`);
    }
    if (s.data.length !== per) {
      throw new Error(
        `stackBatch: sample "${s.id}" has ${s.data.length} values, batch expects ${per}`,
      );
    }
    out.set(s.data, j * per);
  });
  return tf.tensor4d(out, [indices.length, height, width, channels]);
}

/**
 * Maps sample labels to class indices; throws naming the sample whose label
 * is not in `classes`.
 *
 * @param samples the samples.
 * @param classes the class list.
 * @param what where they come from, for the message.
 */
export function labelIndices(
  samples: readonly FlowSample[],
  classes: readonly string[],
  what: string,
): Int32Array {
  const index = new Map(classes.map((c, i) => [c, i]));
  return Int32Array.from(samples, (s) => {
    const i = index.get(s.label);
    if (i === undefined) {
      throw new Error(
        `${what} sample "${s.id}" has label "${s.label}", not one of [${
          classes.join(", ")
        }]`,
      );
    }
    return i;
  });
}
