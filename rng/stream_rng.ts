/**
 * Named sub-streams: {@link streamSeed} derives the seed of the stream named
 * `name` under a seed (one parameter's initialisation, one layer's dropout
 * in a forward pass), and {@link StreamRng} draws from it — xoshiro128**
 * seeded through splitmix32 with MurmurHash3's finaliser, 53-bit uniforms
 * and polar-method normals. The model library's streams.
 *
 * @module
 */
import { fmix32, fmix32Words, foldSeed, Xoshiro128 } from "./xoshiro128.ts";

/** A seeded generator of the model library's draws (xoshiro128**). */
export class StreamRng {
  #core: Xoshiro128;
  #spare = 0;
  #hasSpare = false;

  /**
   * Creates a generator whose whole stream is determined by `seed` (any
   * finite number; see {@link fmix32Words}).
   */
  constructor(seed: number) {
    this.#core = new Xoshiro128(fmix32Words(seed, "Rng"));
  }

  /** The next raw 32-bit output, an integer in [0, 2^32). */
  nextUint32(): number {
    return this.#core.nextUint32();
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform double in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /**
   * Standard normal sample (Marsaglia's polar method; the pair's second
   * value is kept for the next call).
   */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spare;
    }
    let u = 0, v = 0, s = 0;
    do {
      // 32-bit uniforms are plenty for initialisation draws
      u = this.nextUint32() * 4.656612873077393e-10 - 1;
      v = this.nextUint32() * 4.656612873077393e-10 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt(-2 * Math.log(s) / s);
    this.#spare = v * f;
    this.#hasSpare = true;
    return u * f;
  }
}

/** FNV-1a hash of a string (32 bits). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Seed of the named sub-stream of `seed` (e.g. one parameter's init stream,
 * or one layer's dropout stream in a forward pass): the name's FNV-1a hash
 * mixed with the folded seed, finalised with fmix32.
 */
export function streamSeed(seed: number, name: string): number {
  return fmix32(
    (hashString(name) ^ Math.imul(foldSeed(seed), 0x9e3779b1)) >>> 0,
  );
}
