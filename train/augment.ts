/**
 * Training-time augmentation of flow batches: random horizontal flip.
 *
 * Mirroring a face left↔right maps a flow field (u, v) at (y, x) to
 * (−u, v) at (y, W−1−x): the whole field is mirrored along W and the
 * horizontal component u changes sign. The vertical component v and the
 * optical-strain channel (a magnitude) are mirrored only.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor4D } from "../model/mod.ts";
import type { Rng } from "./rng.ts";

/**
 * Flips the samples of an NHWC flow batch whose flag is set (mirror W,
 * negate channel 0 = u).
 *
 * @param x the batch [B, H, W, C], C ≥ 2.
 * @param flags one flag per sample.
 */
export function hflipFlow(
  x: Tensor4D,
  flags: readonly boolean[],
): Tensor4D {
  const [batch, , , channels] = x.shape;
  if (flags.length !== batch) {
    throw new Error(
      `hflipFlow: ${flags.length} flags for a batch of ${batch}`,
    );
  }
  if (channels < 2) {
    throw new Error(
      `hflipFlow: flow batches need ≥ 2 channels (u, v), got ${channels}`,
    );
  }
  if (!flags.some((f) => f)) return x.clone();
  return tf.tidy(() => {
    const sign = tf.tensor1d(
      Array.from({ length: channels }, (_, c) => (c === 0 ? -1 : 1)),
    );
    const flipped = tf.reverse(x, 2).mul(sign);
    if (flags.every((f) => f)) return flipped as tf.Tensor4D;
    const mask = tf.tensor4d(flags.map((f) => (f ? 1 : 0)), [batch, 1, 1, 1])
      .cast("bool");
    return tf.where(mask.broadcastTo(x.shape), flipped, x) as tf.Tensor4D;
  });
}

/**
 * Draws one flip decision per sample from the augment stream: sample i is
 * flipped when the stream's i-th uniform is below `p`. Exactly one uniform
 * is drawn per sample whatever `p` is, so the stream advances identically.
 *
 * @param batch batch size.
 * @param p flip probability in [0, 1].
 * @param rng the job's augment stream.
 */
export function drawFlips(batch: number, p: number, rng: Rng): boolean[] {
  if (!(Number.isFinite(p) && p >= 0 && p <= 1)) {
    throw new RangeError(`augment.hflip must be in [0, 1], got ${p}`);
  }
  return Array.from({ length: batch }, () => rng.uniform() < p);
}

/**
 * Random horizontal flip of a flow batch ({@linkcode drawFlips} then
 * {@linkcode hflipFlow}). Returns a new tensor; `x` is not disposed.
 *
 * @param x the batch [B, H, W, C].
 * @param p flip probability.
 * @param rng the job's augment stream.
 */
export function randomHFlip(x: Tensor4D, p: number, rng: Rng): Tensor4D {
  return hflipFlow(x, drawFlips(x.shape[0], p, rng));
}
