/**
 * Reordering a tensor along one axis by an index permutation, as a custom
 * op whose gradient is the same reordering with the inverse permutation.
 *
 * `tf.gather` would do the forward pass too, but its registered gradient is
 * an `UnsortedSegmentSum`, which the wasm backend lacks and which is a
 * scatter-add where a plain gather suffices: for a permutation the adjoint of
 * "take index `perm[i]`" is "take index `inv[i]`" with `inv[perm[i]] = i`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "./types.ts";

/**
 * Checks that `perm` is a permutation of `0..n-1` and returns its inverse
 * (`inv[perm[i]] = i`).
 *
 * @param perm the candidate permutation.
 * @param n the expected length (the size of the permuted axis).
 * @returns the inverse permutation.
 * @throws Error naming the offending position/value when `perm` is not a
 *   permutation of `0..n-1`.
 */
export function invertPermutation(perm: Int32Array, n: number): Int32Array {
  if (perm.length !== n) {
    throw new Error(
      `permute: perm has length ${perm.length} but the axis has size ${n}`,
    );
  }
  const inv = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const p = perm[i];
    if (!Number.isInteger(p) || p < 0 || p >= n) {
      throw new Error(
        `permute: perm[${i}] = ${p} is outside 0..${n - 1}`,
      );
    }
    if (inv[p] !== -1) {
      throw new Error(
        `permute: perm[${i}] = ${p} repeats perm[${
          inv[p]
        }]; perm must be a permutation`,
      );
    }
    inv[p] = i;
  }
  return inv;
}

/**
 * Reorders `x` along `axis`: `out[..., i, ...] = x[..., perm[i], ...]`.
 *
 * The op is differentiable with respect to `x`; its gradient is the inverse
 * reordering of `dy` (a gather, so no `UnsortedSegmentSum` kernel is needed
 * and it runs on wasm, cpu and webgpu alike).
 *
 * @param x the tensor to reorder (any dtype and rank ≥ 1).
 * @param perm a permutation of `0..x.shape[axis]-1`.
 * @param axis the axis to reorder; negative values count from the end.
 * @returns a new tensor of the same shape and dtype as `x`.
 * @throws Error when `axis` is out of range or `perm` is not a permutation.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { permute } from "./permute.ts";
 * const x = tf.tensor2d([[1, 2, 3]]);
 * permute(x, Int32Array.from([2, 0, 1]), 1).print(); // [[3, 1, 2]]
 * ```
 */
export function permute(
  x: Tensor,
  perm: Int32Array,
  axis: number,
): Tensor {
  const rank = x.rank;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank || rank === 0) {
    throw new Error(
      `permute: axis ${axis} is out of range for a tensor of rank ${rank} (shape [${x.shape}])`,
    );
  }
  const ax = axis < 0 ? axis + rank : axis;
  const inv = invertPermutation(perm, x.shape[ax]);
  const op = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xi = inputs[0] as tf.Tensor;
    const idx = tf.tensor1d(perm, "int32");
    const value = tf.gather(xi, idx, ax);
    idx.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const invIdx = tf.tensor1d(inv, "int32");
        const g = tf.gather(dy, invIdx, ax);
        invIdx.dispose();
        return g;
      },
    };
  });
  return op(x);
}
