/**
 * Multi-head self-attention as in MambaVision's `Attention` (qkv Linear with
 * bias, softmax(QKᵀ/√d)V, output `proj` Linear; no positional bias, no
 * dropout).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor3D } from "../tensor_types.ts";
import type { ParamStore } from "../params.ts";
import { declareLinear, linear } from "./basic.ts";
import type { LayerContext } from "./context.ts";
import { matMul } from "./matmul.ts";

/** Declares `prefix.qkv` (dim → 3·dim, bias) and `prefix.proj` (dim → dim, bias). */
export function declareAttention(
  store: ParamStore,
  prefix: string,
  dim: number,
  qkvBias = true,
): void {
  declareLinear(store, `${prefix}.qkv`, dim, 3 * dim, qkvBias);
  declareLinear(store, `${prefix}.proj`, dim, dim, true);
}

/** Self-attention over tokens x [B, N, C] with `heads` heads. */
export function attention(
  ctx: LayerContext,
  prefix: string,
  x: Tensor3D,
  heads: number,
): Tensor3D {
  const [b, n, c] = x.shape;
  const hd = c / heads;
  const qkv = linear(ctx, `${prefix}.qkv`, x) as Tensor3D;
  const [q, k, v] = tf.split(qkv, 3, 2).map((t) =>
    tf.reshape(
      tf.transpose(tf.reshape(t, [b, n, heads, hd]), [0, 2, 1, 3]),
      [b * heads, n, hd],
    ) as Tensor3D
  );
  const kT = tf.transpose(k, [0, 2, 1]) as Tensor3D;
  const scores = tf.mul(matMul(q, kT), 1 / Math.sqrt(hd));
  const out = matMul(tf.softmax(scores, -1) as Tensor3D, v); // [b*h, n, hd]
  const merged = tf.reshape(
    tf.transpose(tf.reshape(out, [b, heads, n, hd]), [0, 2, 1, 3]),
    [b, n, c],
  );
  return linear(ctx, `${prefix}.proj`, merged) as Tensor3D;
}
