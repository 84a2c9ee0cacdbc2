/**
 * Keyed streams of seedrandom's Alea (pure floating-point arithmetic,
 * identical on every platform): the stream owned by a key path under a
 * seed, so that what an owner draws does not depend on the order in which
 * owners are generated. The synthetic benchmark's streams.
 *
 * @module
 */

// @ts-types="@types/seedrandom"
import seedrandom from "seedrandom";

/** A seeded stream of numbers (Alea). */
export interface AleaRng {
  /** uniform in [0, 1). */
  next(): number;
  /** uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** integer uniform in [0, n). */
  int(n: number): number;
  /** standard normal (Box–Muller), scaled: mean + sd·z. */
  normal(mean?: number, sd?: number): number;
  /** true with probability p. */
  chance(p: number): boolean;
  /** index drawn with probability proportional to `weights`. */
  pick(weights: readonly number[]): number;
  /** a Fisher–Yates shuffled copy. */
  shuffle<T>(items: readonly T[]): T[];
}

/**
 * The stream owned by `keys` under `seed` in `namespace`: Alea seeded with
 * the string `namespace|seed|key1|key2…`.
 *
 * @param namespace names the stream family (e.g. `merba-synthetic`).
 * @param seed the family's seed (any integer).
 * @param keys the owner's key path; different paths give independent streams.
 */
export function keyedAleaRng(
  namespace: string,
  seed: number,
  ...keys: (string | number)[]
): AleaRng {
  const prng = seedrandom.alea(`${namespace}|${seed}|${keys.join("|")}`);
  let spare: number | null = null;
  const next = (): number => prng();
  const rng: AleaRng = {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (n) => Math.min(n - 1, Math.floor(next() * n)),
    normal: (mean = 0, sd = 1) => {
      if (spare !== null) {
        const z = spare;
        spare = null;
        return mean + sd * z;
      }
      let u = next();
      while (u <= 0) u = next();
      const w = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * w);
      return mean + sd * r * Math.cos(2 * Math.PI * w);
    },
    chance: (p) => next() < p,
    pick: (weights) => {
      let total = 0;
      for (const w of weights) total += w;
      let t = next() * total;
      for (let i = 0; i < weights.length; i++) {
        t -= weights[i];
        if (t < 0) return i;
      }
      return weights.length - 1;
    },
    shuffle: <T>(items: readonly T[]): T[] => {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.min(i, Math.floor(next() * (i + 1)));
        const t = out[i];
        out[i] = out[j];
        out[j] = t;
      }
      return out;
    },
  };
  return rng;
}
