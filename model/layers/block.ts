/**
 * The pre-norm residual block of MambaVision (`Block`):
 * x += drop_path(γ₁·mix(LN₁(x))); x += drop_path(γ₂·MLP(LN₂(x))),
 * with γ the layer-scale vectors `gamma_1`/`gamma_2` (absent when the layer
 * scale is null) and the token mixer supplied by the caller.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor3D } from "../tensor_types.ts";
import type { ParamStore } from "../params.ts";
import { constant } from "../params.ts";
import {
  declareLayerNorm,
  declareMlp,
  dropPath,
  layerNorm,
  mlp,
} from "./basic.ts";
import type { LayerContext } from "./context.ts";

/** Declares `norm1`, `norm2`, `mlp.fc1`, `mlp.fc2` and (if layerScale) `gamma_1`, `gamma_2`. */
export function declareResidualBlock(
  store: ParamStore,
  prefix: string,
  dim: number,
  mlpRatio: number,
  layerScale: number | null,
): void {
  declareLayerNorm(store, `${prefix}.norm1`, dim);
  declareLayerNorm(store, `${prefix}.norm2`, dim);
  declareMlp(store, `${prefix}.mlp`, dim, Math.trunc(dim * mlpRatio));
  if (layerScale !== null) {
    store.declare(`${prefix}.gamma_1`, [dim], "plain", constant(layerScale));
    store.declare(`${prefix}.gamma_2`, [dim], "plain", constant(layerScale));
  }
}

/** Runs the residual block on tokens x [B, N, C] with token mixer `mix`. */
export function residualBlock(
  ctx: LayerContext,
  prefix: string,
  x: Tensor3D,
  mix: (t: Tensor3D) => Tensor3D,
  dropPathRate: number,
): Tensor3D {
  const g1 = ctx.store.params.get(`${prefix}.gamma_1`);
  const g2 = ctx.store.params.get(`${prefix}.gamma_2`);
  let m: Tensor = mix(layerNorm(ctx, `${prefix}.norm1`, x) as Tensor3D);
  if (g1) m = tf.mul(m, g1);
  let y = tf.add(x, dropPath(ctx, `${prefix}.drop_path.1`, m, dropPathRate));
  let f = mlp(ctx, `${prefix}.mlp`, layerNorm(ctx, `${prefix}.norm2`, y));
  if (g2) f = tf.mul(f, g2);
  y = tf.add(y, dropPath(ctx, `${prefix}.drop_path.2`, f, dropPathRate));
  return y as Tensor3D;
}
