/**
 * A MambaVision token stage (`MambaVisionLayer` with `conv=False`): the map
 * is padded right/bottom to a multiple of the window, partitioned into
 * windows, and run through `depth` blocks whose token mixer is the
 * {@link mixer} for the first blocks and self-attention for the last ones
 * (`transformer_blocks`, see {@link transformerBlocks}); then the windows
 * are reversed and the padding cropped.
 *
 * State-dict names: `levels.{i}.blocks.{j}.norm1|norm2|gamma_1|gamma_2`,
 * `levels.{i}.blocks.{j}.mlp.fc1|fc2`, mixer blocks
 * `levels.{i}.blocks.{j}.mixer.in_proj|x_proj|dt_proj|A_log|D|out_proj|conv1d_x|conv1d_z`,
 * attention blocks `levels.{i}.blocks.{j}.mixer.qkv|proj`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { transformerBlocks } from "./config.ts";
import { attention, declareAttention } from "./layers/attention.ts";
import { declareResidualBlock, residualBlock } from "./layers/block.ts";
import type { LayerContext } from "./layers/context.ts";
import {
  padToWindow,
  windowPartition,
  windowReverse,
} from "./layers/window.ts";
import { declareMixer, mixer } from "./mixer.ts";
import type { ParamStore } from "./params.ts";
import type { ModelConfig } from "./types.ts";

/** Declares the blocks of MambaVision stage `levels.{i}`. */
export function declareMambaVisionStage(
  store: ParamStore,
  prefix: string,
  config: ModelConfig,
  dim: number,
  depth: number,
): void {
  const attn = transformerBlocks(depth);
  for (let j = 0; j < depth; j++) {
    const p = `${prefix}.blocks.${j}`;
    declareResidualBlock(store, p, dim, config.mlpRatio, config.layerScale);
    if (attn.has(j)) declareAttention(store, `${p}.mixer`, dim, true);
    else declareMixer(store, `${p}.mixer`, dim, config.mixer, true);
  }
}

/** Runs the blocks of a MambaVision stage on x [B, H, W, C] (no downsample). */
export function mambaVisionStage(
  ctx: LayerContext,
  prefix: string,
  x: tf.Tensor4D,
  config: ModelConfig,
  heads: number,
  window: number,
  depth: number,
  dropPathRates: number[],
): tf.Tensor4D {
  const [, h, w] = x.shape;
  const padded = padToWindow(x, window);
  const [, hp, wp] = padded.shape;
  let t = windowPartition(padded, window);
  const attn = transformerBlocks(depth);
  for (let j = 0; j < depth; j++) {
    const p = `${prefix}.blocks.${j}`;
    const mix = attn.has(j)
      ? (u: tf.Tensor3D) => attention(ctx, `${p}.mixer`, u, heads)
      : (u: tf.Tensor3D) => mixer(ctx, `${p}.mixer`, u, config.mixer);
    t = residualBlock(ctx, p, t, mix, dropPathRates[j]);
  }
  let y = windowReverse(t, window, hp, wp);
  if (hp !== h || wp !== w) y = tf.slice(y, [0, 0, 0, 0], [-1, h, w, -1]);
  return y;
}
