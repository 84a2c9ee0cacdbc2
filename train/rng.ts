/**
 * The training engine's seeded streams: {@linkcode Rng} of the shared
 * `rng/` library (xoshiro128** seeded through splitmix32).
 *
 * Every random decision of a training job (batch order, augmentation, the
 * per-step dropout seed) is drawn from an `Rng` created from one of the
 * job's seeds, never from `Math.random` or an unseeded `tf.random*` call,
 * so the same seeds give bit-identical results.
 *
 * @module
 */
export { MAX_SEED, Rng } from "../rng/mod.ts";
