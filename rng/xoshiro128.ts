/**
 * The xoshiro128** generator (Blackman & Vigna, 2018): the one generator
 * behind every seeded stream of the project, with the two ways its 128-bit
 * state is filled from a seed.
 *
 * @module
 */

/** Four 32-bit words: a xoshiro128** state. */
export type StateWords = [number, number, number, number];

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * xoshiro128**: a 128-bit state stepping to 32-bit outputs. The streams of
 * this library draw from one, seeded their own way.
 */
export class Xoshiro128 {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /**
   * Starts from the state `words` (an all-zero state, the generator's
   * fixpoint, is replaced by `[1, 0, 0, 0]`).
   */
  constructor(words: Readonly<StateWords>) {
    const w = words.map((x) => x | 0);
    if (!w.some((x) => x !== 0)) w[0] = 1;
    [this.#s0, this.#s1, this.#s2, this.#s3] = w as StateWords;
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
}

/**
 * State words of the training streams: the seed (a safe integer) reduced
 * modulo 2^32, then four outputs of splitmix32 with the `0x21f0aaad`,
 * `0x735a2d97` finaliser.
 *
 * @param seed any safe integer (negative seeds wrap around).
 * @param what names the seed in the error for an invalid one.
 */
export function splitmix32Words(seed: number, what = "Rng seed"): StateWords {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(
      `${what} must be a safe integer, got ${String(seed)}`,
    );
  }
  let state = Number(BigInt.asUintN(32, BigInt(seed)));
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    state = (state + 0x9e3779b9) | 0;
    let t = state ^ (state >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t = t ^ (t >>> 15);
    t = Math.imul(t, 0x735a2d97);
    t = t ^ (t >>> 15);
    words.push(t | 0);
  }
  return words as StateWords;
}

/**
 * A finite seed folded to 32 bits: its truncated low word XOR its high
 * word (`streamSeed`'s and {@link fmix32Words}' reduction).
 */
export function foldSeed(seed: number): number {
  return ((Math.trunc(seed) >>> 0) ^ Math.trunc(seed / 4294967296)) >>> 0;
}

/** MurmurHash3's 32-bit finaliser (fmix32). */
export function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * State words of the model library's streams: the seed (any finite number)
 * folded to 32 bits ({@link foldSeed}), then four steps of splitmix32's
 * counter each finalised with MurmurHash3's fmix32.
 */
export function fmix32Words(seed: number, what = "Rng"): StateWords {
  if (!Number.isFinite(seed)) {
    throw new Error(`${what}: seed must be a finite number, got ${seed}`);
  }
  let x = foldSeed(seed);
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    words.push(fmix32(x));
  }
  return words as StateWords;
}
