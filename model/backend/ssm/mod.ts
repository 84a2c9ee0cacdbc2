/**
 * The fused selective-scan kernels behind `model/selective_scan.ts`: the
 * typed-array loops (JS and WebAssembly SIMD) for `cpu`, `wasm` and
 * `tensorflow`, the WGSL programs for `webgpu`, and their one entry point,
 * {@link registerScanKernels}.
 *
 * @module
 */
export { registerScanKernels } from "./register.ts";
export {
  HOST_SCAN_KERNELS,
  SCAN_GRADIENT,
  SCAN_INPUT_NAMES,
  type ScanAttrs,
  scanDimsOf,
  scanImpl,
  type ScanInputName,
  SELECTIVE_SCAN_GRAD_KERNEL,
  SELECTIVE_SCAN_KERNEL,
} from "./kernels.ts";
export {
  fastExp,
  type ScanArrays,
  scanBackward,
  type ScanDims,
  scanForward,
  type ScanGradArrays,
  softplus,
} from "./scan_js.ts";
export {
  scanBackwardWasm,
  scanForwardWasm,
  wasmScanAvailable,
  wasmScanOptions,
} from "./scan_wasm.ts";
export {
  backwardWgsl,
  forwardWgsl,
  type GradLayout,
  gradLayout,
  packParamsWgsl,
  SCAN_WORKGROUP,
  stridedSumWgsl,
} from "./scan_wgsl.ts";
export {
  WEBGPU_MAX_BUFFER_BYTES,
  WEBGPU_SCAN_KERNELS,
  webgpuScanOptions,
} from "./webgpu.ts";
