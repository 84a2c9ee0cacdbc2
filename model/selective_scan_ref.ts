/**
 * The selective scan's inputs and its reference implementation, a loop of
 * small tensor ops: slow, but differentiable through TensorFlow.js'
 * autograd. It is the ground truth the fused kernels are tested against
 * and the fallback of `selectiveScan` on a backend without them.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D, Tensor3D } from "./tensor_types.ts";

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
 * y_t = ⟨C_t, h_t⟩ + D·u_t with h_t = exp(Δ_t·A) ⊙ h_{t−1} + Δ_t·B_t·u_t and
 * Δ = softplus(delta + deltaBias) (when `deltaSoftplus`, as the reference).
 * Returns y [B, L, D].
 */
export function selectiveScanRef(
  inputs: ScanInputs,
  deltaSoftplus = true,
): Tensor3D {
  return tf.tidy(() => {
    const { u, A, B, C, D } = inputs;
    const [batch, length, dim] = u.shape;
    const n = A.shape[1];
    let delta: tf.Tensor3D = tf.add(inputs.delta, inputs.deltaBias);
    if (deltaSoftplus) delta = tf.softplus(delta);
    let h: tf.Tensor3D = tf.zeros([batch, dim, n]);
    const ys: tf.Tensor2D[] = [];
    for (let t = 0; t < length; t++) {
      const dt = tf.slice(delta, [0, t, 0], [batch, 1, dim]).reshape([
        batch,
        dim,
        1,
      ]) as tf.Tensor3D;
      const ut = tf.slice(u, [0, t, 0], [batch, 1, dim]).reshape([
        batch,
        dim,
        1,
      ]) as tf.Tensor3D;
      const bt = tf.slice(B, [0, t, 0], [batch, 1, n]) as tf.Tensor3D; // [B,1,N]
      const ct = tf.slice(C, [0, t, 0], [batch, 1, n]) as tf.Tensor3D;
      const dA = tf.exp(tf.mul(dt, A)); // [B,D,N]
      h = tf.add(tf.mul(dA, h), tf.mul(tf.mul(dt, bt), ut));
      const y = tf.sum(tf.mul(h, ct), 2) as tf.Tensor2D; // [B,D]
      ys.push(y);
    }
    const y = tf.stack(ys, 1) as tf.Tensor3D; // [B,L,D]
    return tf.add(y, tf.mul(u, D));
  });
}
