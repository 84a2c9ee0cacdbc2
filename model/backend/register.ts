/**
 * Explicit registration of the kernels this project adds to TensorFlow.js:
 * nothing is registered when a module is imported. `initBackend` calls
 * {@link registerKernels}; code that activates a backend itself (with
 * `tf.setBackend`) calls it first.
 *
 * @module
 */
import { registerProvidedKernels } from "./kernels/register.ts";
import { registerScanKernels } from "./ssm/register.ts";

/**
 * Registers the fused selective scan (kernels for `cpu`, `wasm`,
 * `tensorflow` and `webgpu`, and its gradient) and the kernels the models
 * need that the `wasm` backend lacks or gets wrong. Idempotent: a later
 * call leaves registered kernels, and kernels registered over them (such as
 * the BLAS kernels), alone. Without it the selective scan runs its
 * tensor-op reference.
 */
export function registerKernels(): void {
  registerScanKernels();
  registerProvidedKernels();
}
