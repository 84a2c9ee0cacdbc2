/**
 * Matrix products whose forward and backward passes avoid TensorFlow.js'
 * transposed-operand matMul. On the wasm backend `matMul(a, b, true, false)`
 * and `matMul(a, b, false, true)` (which tf.matMul's own gradient uses) are
 * many times slower than an explicit transpose followed by a plain product
 * (scripts/bench/README), so the gradient below transposes explicitly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Tensor3D } from "../tensor_types.ts";

function swapLast(t: Tensor): Tensor {
  return t.rank === 2 ? tf.transpose(t) : tf.transpose(t, [0, 2, 1]);
}

/**
 * a·b for a [M, K], b [K, N] (rank 2) or a [B, M, K], b [B, K, N] (rank 3,
 * same batch), differentiable with explicit-transpose gradients:
 * da = dy·bᵀ, db = aᵀ·dy.
 */
export function matMul<T extends Tensor2D | Tensor3D>(a: T, b: T): T {
  if (a.rank !== b.rank || (a.rank !== 2 && a.rank !== 3)) {
    throw new Error(
      `matMul: expected two rank-2 or two rank-3 tensors, got [${a.shape}] and [${b.shape}]`,
    );
  }
  const op = tf.customGrad(
    (...args: (Tensor | tf.GradSaveFunc)[]) => {
      const [x, y] = args as Tensor[];
      (args[2] as tf.GradSaveFunc)([x, y]);
      return {
        value: tf.matMul(x as Tensor2D, y as Tensor2D),
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [xs, ys] = saved;
          return [
            tf.matMul(dy as Tensor2D, swapLast(ys) as Tensor2D),
            tf.matMul(swapLast(xs) as Tensor2D, dy as Tensor2D),
          ];
        },
      };
    },
  );
  return op(a, b) as T;
}
