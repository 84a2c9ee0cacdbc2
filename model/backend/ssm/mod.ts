/**
 * The fused selective-scan kernels behind `model/selective_scan.ts`:
 * registration for the `cpu`, `wasm` and `webgpu` backends, the typed-array
 * loops (JS and WebAssembly SIMD) and the WGSL sources.
 *
 * @module
 */
export {
  registerScanKernels,
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
  registerScanWebGPUKernels,
  WEBGPU_MAX_BUFFER_BYTES,
  webgpuScanOptions,
} from "./webgpu.ts";
