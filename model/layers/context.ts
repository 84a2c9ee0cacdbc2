/**
 * What a layer needs at call time: the parameter store, the mode, and the
 * pass's random streams.
 *
 * @module
 */
import { StreamRng, streamSeed } from "../../rng/mod.ts";
import type { ParamStore } from "../params.ts";

/** Call-time context shared by every layer of one forward pass. */
export interface LayerContext {
  /** the model's parameters and buffers. */
  store: ParamStore;
  /** training mode (dropout, drop path, BatchNorm batch statistics). */
  training: boolean;
  /** seed of this pass (required when training). */
  seed?: number;
  /** recompute token blocks in the backward pass instead of keeping their intermediates. */
  checkpoint?: boolean;
}

/**
 * The random stream named `name` of this pass (e.g. a block's drop path).
 * Throws when training without a seed: every random draw must be seeded.
 */
export function passRng(ctx: LayerContext, name: string): StreamRng {
  if (ctx.seed === undefined || !Number.isFinite(ctx.seed)) {
    throw new Error(
      `ForwardOptions.seed: a finite seed is required in training mode (needed by ${name}), got ${ctx.seed}`,
    );
  }
  return new StreamRng(streamSeed(ctx.seed, name));
}
