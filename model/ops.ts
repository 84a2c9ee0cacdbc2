/**
 * The model library's public entry points to the selective scan and the
 * differentiable permutation, typed with {@link Tensor} aliases.
 *
 * @module
 */
import { permute as permuteImpl } from "./backend/kernels/permute.ts";
import { selectiveScan as selectiveScanImpl } from "./selective_scan.ts";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from "./tensor_types.ts";

/** Inputs of a selective scan, channels-last. */
export interface ScanInputs {
  /** input sequence u [B, L, D]. */
  u: Tensor3D;
  /** Δ before bias and softplus [B, L, D]. */
  delta: Tensor3D;
  /** state matrix A [D, N] (already −exp(A_log)). */
  A: Tensor2D;
  /** input projection B [B, L, N]. */
  B: Tensor3D;
  /** output projection C [B, L, N]. */
  C: Tensor3D;
  /** skip weight D [D]. */
  D: Tensor1D;
  /** bias added to Δ before softplus [D]. */
  deltaBias: Tensor1D;
}

/**
 * Selective scan y_t = ⟨C_t, h_t⟩ + D·u_t, h_t = exp(Δ_t·A) ⊙ h_{t−1} +
 * Δ_t·B_t·u_t with Δ = softplus(delta + deltaBias) (when `deltaSoftplus`).
 * Returns y [B, L, D]; differentiable.
 */
export function selectiveScan(
  inputs: ScanInputs,
  deltaSoftplus = true,
): Tensor3D {
  return selectiveScanImpl(inputs, deltaSoftplus);
}

/**
 * Reorders `x` along `axis` so that `out[i] = x[perm[i]]`; its gradient is
 * the inverse permutation (works on backends without a gather gradient).
 */
export function permute(x: Tensor, perm: Int32Array, axis: number): Tensor {
  return permuteImpl(x, perm, axis);
}
