/**
 * The differentiable permutation of the scan orders, typed with
 * {@link Tensor} aliases for the model library's public API.
 *
 * @module
 */
import { permute as permuteImpl } from "./backend/kernels/permute.ts";
import type { Tensor } from "./tensor_types.ts";

/**
 * Reorders `x` along `axis` so that `out[i] = x[perm[i]]`; its gradient is
 * the inverse permutation (works on backends without a gather gradient).
 */
export function permute(x: Tensor, perm: Int32Array, axis: number): Tensor {
  return permuteImpl(x, perm, axis);
}
