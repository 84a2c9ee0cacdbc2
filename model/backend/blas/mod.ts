/**
 * Faster CPU kernels for TensorFlow.js through the system's BLAS
 * (OpenBLAS' `cblas_sgemm` reached with Deno's FFI): BatchMatMul, Conv2D
 * and Conv2D's two gradients for the wasm and cpu backends, and with them a
 * row-copy GatherV2 (the scan-order permutations). Which are registered by
 * default on each backend: {@link DEFAULT_BLAS_KERNELS}. On by default:
 * `initBackend("wasm" | "cpu")` enables them (1 sgemm thread) when a BLAS
 * library is found, see {@link applyBlasDefault} for `MERBA_BLAS=0|1` and
 * `MERBA_BLAS_THREADS`. Cleanly absent: {@link enableBlasKernels} returns
 * null and changes nothing when no BLAS library is installed (Debian:
 * `libopenblas0-pthread`). Needs `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import { initBackend } from "../../mod.ts";
 * import { enableBlasKernels } from "./mod.ts";
 *
 * const info = await initBackend("wasm"); // BLAS on when found
 * console.log(info.blas ? `${info.blas.threads} sgemm thread(s)` : "off");
 * const blas = enableBlasKernels({ threads: 2 }); // another setting
 * console.log(blas ? `sgemm from ${blas.path}` : "no BLAS: tfjs kernels");
 * ```
 *
 * @module
 */
export {
  type Blas,
  BLAS_CANDIDATES,
  loadBlas,
  type LoadBlasOptions,
} from "./ffi.ts";
export {
  blasBatchMatMul,
  blasConv2D,
  blasConv2DBackpropFilter,
  blasConv2DBackpropInput,
  type BlasKernelArgs,
  type BlasKernelFunc,
  type BlasKernelOptions,
  blasReachable,
  DEFAULT_BLAS_KERNEL_OPTIONS,
  type KernelBackend,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from "./kernels.ts";
export {
  BLAS_KERNEL_NAMES,
  type BlasBackendName,
  blasChosen,
  blasFallbackKernel,
  type BlasKernelName,
  blasKernelRegistered,
  type BlasStatus,
  blasStatus,
  DEFAULT_BLAS_KERNELS,
  disableBlasKernels,
  enableBlasKernels,
  type EnableBlasOptions,
} from "./register.ts";
export {
  applyBlasDefault,
  type BlasSetting,
  blasSettingFromEnv,
  enableBlasFromEnv,
} from "./auto.ts";
export { copyGatherV2 } from "./gather.ts";
export type { KernelConfig } from "../kernels/types.ts";
