/**
 * Kernels the MERba/MambaVision models need that TensorFlow.js lacks (or
 * gets wrong) on some backend, and differentiable helpers built for them.
 * {@link registerProvidedKernels} registers them (idempotent).
 *
 * @module
 */
export { invertPermutation, permute } from "./permute.ts";
export {
  nativeKernelConfig,
  type ProvidedKernel,
  registerProvidedKernels,
} from "./register.ts";
export {
  conv2DBackpropFilterIm2col,
  conv2DBackpropFilterViaConv,
  conv2DBackpropInputDilated,
  conv2DBackpropInputViaConv,
  depthwiseBackpropFilterViaConv,
  depthwiseBackpropInputViaConv,
} from "./conv_backprop.ts";
export {
  depthwiseBackpropFilterWasm,
  maxPoolGradWasm,
  unsortedSegmentSumWasm,
} from "./wasm_js_kernels.ts";
export {
  type Attrs,
  input,
  type KernelArgs,
  KernelScope,
} from "./kernel_scope.ts";
export type {
  KernelBackend,
  KernelConfig,
  NamedAttrMap,
  NamedTensorInfoMap,
  Tensor,
  TensorInfo,
} from "./types.ts";
