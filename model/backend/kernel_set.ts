/**
 * The kernel set a backend ran: the name that says which numerical kernels
 * produced a result ("wasm", "wasm+openblas", "cpu", "cpu+openblas",
 * "webgpu", "tensorflow", "tensorflow-gpu"). Results of one spec, seed and
 * kernel set are bit-identical on CPU; two kernel sets differ in the last
 * bits. Kept free of TensorFlow.js imports so that the run store can use it.
 *
 * @module
 */

/** The parts of a backend description (`BackendInfo`) the label reads. */
export interface KernelSetSource {
  /** the backend's name. */
  name: string;
  /** the BLAS setting: non-null when BLAS kernels served the backend. */
  blas?: unknown;
  /** package versions (tensorflow: which tfjs-node build was loaded). */
  versions?: Record<string, string>;
}

/**
 * The kernel set label of a backend: its name, `+openblas` when BLAS
 * kernels served it, and `tensorflow-gpu` for the tfjs-node-gpu build.
 *
 * @param info what `initBackend` reported (or a recorded copy of it).
 * @returns the label, e.g. "wasm+openblas".
 *
 * @example
 * ```ts
 * import { kernelSetLabel } from "./kernel_set.ts";
 * kernelSetLabel({ name: "cpu", blas: null }); // "cpu"
 * ```
 */
export function kernelSetLabel(info: KernelSetSource): string {
  if (info.name === "tensorflow") {
    const gpu = info.versions &&
      Object.hasOwn(info.versions, "@tensorflow/tfjs-node-gpu");
    return gpu ? "tensorflow-gpu" : "tensorflow";
  }
  return info.blas != null ? `${info.name}+openblas` : info.name;
}
