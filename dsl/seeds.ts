/**
 * Seed derivation by NAME. Every random stream of a job is derived from the
 * root seed and the names that identify it, never from a job's position in
 * the plan, so adding a variant, a seed or a fold changes no other job's
 * numbers.
 *
 * Decision: the streams of a job depend on the root seed, the fold name and
 * the stream name — **not on the variant name**. Variants run with the same
 * root seed on the same fold therefore share their batch order, their
 * augmentation draws, their dropout seeds and (where parameter shapes agree)
 * their initial weights: common random numbers, so a difference between two
 * variants measures the change, not seed noise. Renaming a variant changes
 * nothing.
 *
 * @module
 */
import type { JobSeeds } from "../train/types.ts";
import { sha256Hex } from "./hash.ts";

/** The named random streams of a job. */
export const STREAMS = ["init", "order", "augment", "dropout"] as const;

/**
 * Derives a seed in [1, 2^31 − 1] (never 0: TF.js reads 0 as "unseeded")
 * from a root seed and a list of names: the first 32 bits of
 * SHA-256(`merba-seed\0root\0name1\0…`), reduced.
 */
export function deriveSeed(root: number, ...names: string[]): number {
  if (!Number.isSafeInteger(root) || root < 0) {
    throw new RangeError(`root seed must be an integer ≥ 0, got ${root}`);
  }
  const hex = sha256Hex(["merba-seed", String(root), ...names].join("\0"));
  const x = parseInt(hex.slice(0, 8), 16);
  return (x % 0x7fffffff) + 1;
}

/** The four streams of the job on `fold` under root seed `root`. */
export function jobSeeds(root: number, fold: string): JobSeeds {
  return {
    init: deriveSeed(root, fold, "init"),
    order: deriveSeed(root, fold, "order"),
    augment: deriveSeed(root, fold, "augment"),
    dropout: deriveSeed(root, fold, "dropout"),
  };
}
