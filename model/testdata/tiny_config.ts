/**
 * The tiny model widths the model tests share: 56×56 input, every stage
 * present, attention in the last three stages.
 *
 * @module
 */
import type { ModelConfig } from "../types.ts";

/** Tiny widths for MERba / MambaVision-B tests (spread into `merbaBase`). */
export const TINY_MODEL: Partial<ModelConfig> = {
  inputSize: 56,
  dims: [8, 16, 16, 32],
  heads: [1, 2, 2, 4],
  stemDim: 8,
  windowSize: [7, 7, 2, 2],
  depths: [1, 1, 1, 1],
  attentionDepths: [0, 1, 1, 1],
  mlpRatio: 2,
};
