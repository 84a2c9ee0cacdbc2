/**
 * Seeded random streams for the synthetic benchmark.
 *
 * Every stream is owned: it is derived from the dataset seed and a key path
 * (e.g. `["subject", "synthetic-dfme/s03"]`), so what a subject or a sample
 * looks like does not depend on the order in which things are generated.
 * The generator is seedrandom's Alea of the shared `rng/` library
 * ({@link keyedAleaRng}, namespace `merba-synthetic`).
 *
 * @module
 */
import { type AleaRng, keyedAleaRng } from "../../rng/mod.ts";

export type { AleaRng };

/**
 * Creates the stream owned by `keys` under the dataset `seed`.
 *
 * @param seed dataset seed (any integer).
 * @param keys the owner's key path; different paths give independent streams.
 */
export function makeRng(seed: number, ...keys: (string | number)[]): AleaRng {
  return keyedAleaRng("merba-synthetic", seed, ...keys);
}
