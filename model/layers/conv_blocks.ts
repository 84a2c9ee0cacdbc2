/**
 * MambaVision's convolutional modules on NHWC: `PatchEmbed` (two conv3×3
 * stride-2 + BN(eps 1e-4) + ReLU), `ConvBlock` (conv BN GELU-tanh conv BN,
 * residual) and `Downsample` (one conv3×3 stride 2, no bias, no norm).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor4D } from "../tensor_types.ts";
import type { ParamStore } from "../params.ts";
import { constant } from "../params.ts";
import {
  batchNorm,
  conv2d,
  declareBatchNorm,
  declareConv2d,
  dropPath,
  geluTanh,
} from "./basic.ts";
import type { LayerContext } from "./context.ts";

/** Declares `prefix.conv_down.{0,1,3,4}` (conv, BN, conv, BN). */
export function declarePatchEmbed(
  store: ParamStore,
  prefix: string,
  inChannels: number,
  stemDim: number,
  dim: number,
): void {
  declareConv2d(store, `${prefix}.conv_down.0`, inChannels, stemDim, 3, false);
  declareBatchNorm(store, `${prefix}.conv_down.1`, stemDim);
  declareConv2d(store, `${prefix}.conv_down.3`, stemDim, dim, 3, false);
  declareBatchNorm(store, `${prefix}.conv_down.4`, dim);
}

/** Patch embedding: [B, H, W, in] → [B, ⌈H/4⌉, ⌈W/4⌉, dim]. */
export function patchEmbed(
  ctx: LayerContext,
  prefix: string,
  x: Tensor4D,
): Tensor4D {
  let y = conv2d(ctx, `${prefix}.conv_down.0`, x, 2, 1);
  y = tf.relu(batchNorm(ctx, `${prefix}.conv_down.1`, y, 1e-4));
  y = conv2d(ctx, `${prefix}.conv_down.3`, y, 2, 1);
  return tf.relu(batchNorm(ctx, `${prefix}.conv_down.4`, y, 1e-4));
}

/** Declares a ConvBlock: `conv1`, `norm1`, `conv2`, `norm2` (+ `gamma`). */
export function declareConvBlock(
  store: ParamStore,
  prefix: string,
  dim: number,
  layerScale: number | null = null,
): void {
  declareConv2d(store, `${prefix}.conv1`, dim, dim, 3, true);
  declareBatchNorm(store, `${prefix}.norm1`, dim);
  declareConv2d(store, `${prefix}.conv2`, dim, dim, 3, true);
  declareBatchNorm(store, `${prefix}.norm2`, dim);
  if (layerScale !== null) {
    store.declare(`${prefix}.gamma`, [dim], "plain", constant(layerScale));
  }
}

/** ConvBlock: x + drop_path(γ·BN(conv(GELU_tanh(BN(conv(x)))))). */
export function convBlock(
  ctx: LayerContext,
  prefix: string,
  x: Tensor4D,
  dropPathRate: number,
): Tensor4D {
  let y = conv2d(ctx, `${prefix}.conv1`, x, 1, 1);
  y = geluTanh(batchNorm(ctx, `${prefix}.norm1`, y)) as Tensor4D;
  y = batchNorm(
    ctx,
    `${prefix}.norm2`,
    conv2d(ctx, `${prefix}.conv2`, y, 1, 1),
  );
  const gamma = ctx.store.params.get(`${prefix}.gamma`);
  if (gamma) y = tf.mul(y, gamma);
  return tf.add(x, dropPath(ctx, `${prefix}.drop_path`, y, dropPathRate));
}

/** Declares `prefix.reduction.0` (conv3×3 dim → outDim, no bias). */
export function declareDownsample(
  store: ParamStore,
  prefix: string,
  dim: number,
  outDim: number,
): void {
  declareConv2d(store, `${prefix}.reduction.0`, dim, outDim, 3, false);
}

/** Downsample: conv3×3 stride 2 padding 1. */
export function downsample(
  ctx: LayerContext,
  prefix: string,
  x: Tensor4D,
): Tensor4D {
  return conv2d(ctx, `${prefix}.reduction.0`, x, 2, 1);
}
