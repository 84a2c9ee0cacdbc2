/**
 * Seeded random streams, shared by the model, data and training libraries
 * (a leaf: it imports none of them). One generator, xoshiro128**
 * ({@link Xoshiro128}), with two seedings kept apart because the numbers
 * of existing runs depend on them:
 *
 * - {@link Rng}: training streams (batch order, augmentation, per-step
 *   seeds, bootstrap): splitmix32 seeding, 32-bit uniforms, Box–Muller;
 * - {@link StreamRng} with {@link streamSeed}: the model library's named
 *   streams (parameter init, dropout): fmix32 seeding, 53-bit uniforms,
 *   polar normals;
 *
 * and, for the synthetic benchmark, seedrandom's Alea keyed by a string
 * path ({@link keyedAleaRng}).
 *
 * @example
 * ```ts
 * import { Rng, StreamRng, streamSeed } from "./mod.ts";
 * new Rng(42).permutation(5); // a batch order
 * new StreamRng(streamSeed(42, "head.weight")).normal(); // an init draw
 * ```
 *
 * @module
 */
export {
  fmix32,
  fmix32Words,
  foldSeed,
  splitmix32Words,
  type StateWords,
  Xoshiro128,
} from "./xoshiro128.ts";
export { MAX_SEED, Rng } from "./rng.ts";
export { hashString, StreamRng, streamSeed } from "./stream_rng.ts";
export { type AleaRng, keyedAleaRng } from "./alea.ts";
