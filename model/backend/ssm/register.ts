/**
 * The one entry point that puts the fused selective scan in TensorFlow.js'
 * registry: its kernels for every backend that has them and its gradient.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { HOST_SCAN_KERNELS, SCAN_GRADIENT } from "./kernels.ts";
import { WEBGPU_SCAN_KERNELS } from "./webgpu.ts";

/**
 * Registers `MerbaSelectiveScan` and `MerbaSelectiveScanGrad` for `cpu`,
 * `wasm`, `tensorflow` and `webgpu`, and the gradient linking them;
 * idempotent, and leaves a kernel already registered alone. A kernel may be
 * registered before its backend is loaded.
 */
export function registerScanKernels(): void {
  for (const k of [...HOST_SCAN_KERNELS, ...WEBGPU_SCAN_KERNELS]) {
    if (tf.getKernel(k.kernelName, k.backendName) === undefined) {
      tf.registerKernel(k);
    }
  }
  if (tf.getGradient(SCAN_GRADIENT.kernelName) === undefined) {
    tf.registerGradient(SCAN_GRADIENT);
  }
}
