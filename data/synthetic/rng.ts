/**
 * Seeded random streams for the synthetic benchmark.
 *
 * Every stream is owned: it is derived from the dataset seed and a key path
 * (e.g. `["subject", "synthetic-dfme/s03"]`), so what a subject or a sample
 * looks like does not depend on the order in which things are generated.
 * The generator is seedrandom's Alea (pure floating-point arithmetic,
 * identical on every platform).
 *
 * @module
 */

// @ts-types="@types/seedrandom"
import seedrandom from "seedrandom";

/** A seeded stream of numbers. */
export interface Rng {
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
 * Creates the stream owned by `keys` under the dataset `seed`.
 *
 * @param seed dataset seed (any integer).
 * @param keys the owner's key path; different paths give independent streams.
 */
export function makeRng(seed: number, ...keys: (string | number)[]): Rng {
  const prng = seedrandom.alea(`merba-synthetic|${seed}|${keys.join("|")}`);
  let spare: number | null = null;
  const next = (): number => prng();
  const rng: Rng = {
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
