/**
 * The seeded streams of training: xoshiro128** seeded through splitmix32,
 * 32-bit uniforms, unbiased integers, Box–Muller normals, shuffles.
 *
 * @module
 */
import { splitmix32Words, Xoshiro128 } from "./xoshiro128.ts";

const TWO_32 = 4294967296;

/** The largest seed {@linkcode Rng.seed} returns (2^31 − 1). */
export const MAX_SEED = 2147483647;

/**
 * A seeded pseudo-random stream (xoshiro128**, seeded through splitmix32):
 * the training engine's streams (batch order, augmentation, per-step seeds)
 * and the reports' bootstrap.
 *
 * @example Shuffle reproducibly
 * ```ts
 * import { Rng } from "./mod.ts";
 * const order = new Rng(42).permutation(5); // same seed, same order
 * ```
 */
export class Rng {
  #core: Xoshiro128;

  /**
   * Creates a stream from a seed.
   *
   * @param seed any safe integer; it is reduced modulo 2^32.
   */
  constructor(seed: number) {
    this.#core = new Xoshiro128(splitmix32Words(seed, "Rng seed"));
  }

  /** The next raw 32-bit output, an integer in [0, 2^32). */
  nextUint32(): number {
    return this.#core.nextUint32();
  }

  /** A uniform float in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / TWO_32;
  }

  /**
   * A uniform integer in [0, n), without modulo bias (rejection sampling).
   *
   * @param n exclusive upper bound, an integer in [1, 2^32].
   */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_32) {
      throw new RangeError(
        `Rng.int bound must be an integer in [1, 2^32], got ${n}`,
      );
    }
    const limit = TWO_32 - (TWO_32 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /**
   * A standard normal deviate (Box–Muller, one value per call).
   */
  normal(): number {
    // 1 - uniform() is in (0, 1], so the log is finite.
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /**
   * A seed for another seeded consumer (e.g. a forward pass's
   * `ForwardOptions.seed`): an integer in [1, 2^31 − 1]. Never 0, which
   * TensorFlow.js reads as "unseeded".
   */
  seed(): number {
    return 1 + this.int(MAX_SEED);
  }

  /**
   * Shuffles `items` in place with Fisher–Yates (Durstenfeld) and returns it.
   *
   * @param items the array to shuffle.
   */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /**
   * A uniformly random permutation of 0..n−1.
   *
   * @param n length of the permutation.
   */
  permutation(n: number): number[] {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(
        `Rng.permutation length must be a non-negative integer, got ${n}`,
      );
    }
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }
}
