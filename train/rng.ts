/**
 * Owned, seeded random streams for the training engine.
 *
 * Every random decision of a training job (parameter init, batch order,
 * augmentation, the per-step dropout seed) is drawn from an {@linkcode Rng}
 * created from one of the job's seeds, never from `Math.random` or an
 * unseeded `tf.random*` call, so the same seeds give bit-identical results.
 *
 * The generator is xoshiro128** (Blackman & Vigna, 2018) whose 128-bit state
 * is filled from the 32-bit seed with splitmix32.
 *
 * @module
 */

const TWO_32 = 4294967296;

/** The largest seed {@linkcode Rng.seed} returns (2^31 − 1). */
export const MAX_SEED = 2147483647;

function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let t = next ^ (next >>> 16);
  t = Math.imul(t, 0x21f0aaad);
  t = t ^ (t >>> 15);
  t = Math.imul(t, 0x735a2d97);
  t = t ^ (t >>> 15);
  return [next, t >>> 0];
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function checkSeed(seed: number, what: string): number {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(
      `${what} must be a safe integer, got ${String(seed)}`,
    );
  }
  // Reduce modulo 2^32 (negative seeds wrap around).
  return Number(BigInt.asUintN(32, BigInt(seed)));
}

/**
 * A seeded pseudo-random stream (xoshiro128**, seeded through splitmix32).
 *
 * @example Shuffle reproducibly
 * ```ts
 * import { Rng } from "./rng.ts";
 * const order = new Rng(42).permutation(5); // same seed, same order
 * ```
 */
export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /**
   * Creates a stream from a seed.
   *
   * @param seed any safe integer; it is reduced modulo 2^32.
   */
  constructor(seed: number) {
    let state = checkSeed(seed, "Rng seed");
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(state);
      state = next;
      words.push(out | 0);
    }
    // splitmix32 is a bijection of its counter, so four consecutive outputs
    // cannot all be zero; keep the guard anyway for the all-zero fixpoint.
    if (!words.some((w) => w !== 0)) words[0] = 1;
    [this.#s0, this.#s1, this.#s2, this.#s3] = words as [
      number,
      number,
      number,
      number,
    ];
  }

  /** The next raw 32-bit output, an integer in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
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
