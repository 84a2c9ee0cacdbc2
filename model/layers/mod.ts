/**
 * The building blocks of MERba and MambaVision, NHWC / channels-last: each
 * layer has a `declare*` function that registers its parameters (PyTorch
 * state-dict names, PyTorch shapes) in a {@link ParamStore} and a call
 * function that reads them from a {@link LayerContext} at run time.
 *
 * @module
 */
export {
  batchNorm,
  conv2d,
  declareBatchNorm,
  declareConv2d,
  declareLayerNorm,
  declareLinear,
  declareMlp,
  dropout,
  dropPath,
  gelu,
  geluTanh,
  layerNorm,
  linear,
  type LinearInit,
  mlp,
  silu,
} from "./basic.ts";
export { attention, declareAttention } from "./attention.ts";
export { matMul } from "./matmul.ts";
export { declareResidualBlock, residualBlock } from "./block.ts";
export {
  convBlock,
  declareConvBlock,
  declareDownsample,
  declarePatchEmbed,
  downsample,
  patchEmbed,
} from "./conv_blocks.ts";
export { type LayerContext, passRng } from "./context.ts";
export {
  padToWindow,
  windowPadding,
  windowPartition,
  windowReverse,
} from "./window.ts";
export type { Layout, ParamSpec, ParamStore } from "../params.ts";
export type { InitSpec } from "../init.ts";
export type { StreamRng } from "../../rng/mod.ts";
export type {
  Tensor,
  Tensor2D,
  Tensor3D,
  Tensor4D,
  Variable,
} from "../tensor_types.ts";
