/**
 * Documented aliases of the TensorFlow.js types in this module's public
 * API (so that `deno doc --lint` sees them as public).
 *
 * @module
 */
import type * as tfjs from "@tensorflow/tfjs";

/** A TensorFlow.js tensor of any rank. */
export type Tensor = tfjs.Tensor;
/** Shape, dtype and data id of a backend buffer, as kernels see tensors. */
export type TensorInfo = tfjs.TensorInfo;
/** A backend instance (cpu, wasm, webgpu, …) as passed to kernels. */
export type KernelBackend = tfjs.KernelBackend;
/** A kernel registration: name, backend, kernel and setup functions. */
export type KernelConfig = tfjs.KernelConfig;
/** Named kernel inputs. */
export type NamedTensorInfoMap = tfjs.NamedTensorInfoMap;
/** Kernel attributes. */
export type NamedAttrMap = tfjs.NamedAttrMap;
