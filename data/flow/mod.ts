/**
 * Optical flow for micro-expression recognition: TV-L1 with OpenCV
 * `DualTVL1OpticalFlow` semantics and optical strain.
 *
 * ```ts
 * import { opticalStrain, tvl1Flow } from "./mod.ts";
 * const { u, v } = tvl1Flow(onset, apex, 224, 224);
 * const strain = opticalStrain(u, v, 224, 224);
 * ```
 *
 * @module
 */

export {
  DEFAULT_TVL1_OPTIONS,
  type FlowField,
  resolveTvl1Options,
  tvl1Flow,
  type Tvl1Options,
} from "./tvl1.ts";
export { opticalStrain } from "./strain.ts";
export {
  endPointError,
  type FlowPair,
  type FlowPairKind,
  makeFlowPair,
} from "./synthetic_pairs.ts";
