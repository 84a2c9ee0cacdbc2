/**
 * MERba's Local-Global Feature Integration (LGFI) stage.
 *
 * A stage over an H×W map runs `depth` local-extractor blocks, then
 * `attentionDepth` self-attention blocks, over tokens:
 *
 * - local extractor block (`extractor: "local"`: inside each window of the
 *   stage's size, row-major windows; `"global"`: the whole map is one
 *   window): x += drop_path(γ₁·out_proj(Σₛ restoreₛ(mixerₛ(scanₛ(LN₁(x))))));
 *   x += drop_path(γ₂·MLP(LN₂(x))). Each scan order s has its own mixer
 *   without out_proj (the paper moves the mixer's last Linear to the end of
 *   the extractor); `scanₛ` reorders the window's tokens by
 *   {@link scanOrder} and `restoreₛ` puts them back in window order.
 * - global attention block (`attention: "global"`: over all H·W tokens;
 *   `"local"`: inside the same windows): x += drop_path(γ₁·MHSA(LN₁(x)));
 *   x += drop_path(γ₂·MLP(LN₂(x))).
 *
 * State-dict names (MambaVision style; blocks are numbered extractors first,
 * then attention blocks, as the reference numbers mixer then attention
 * blocks):
 * - `levels.{i}.blocks.{j}.norm1|norm2|gamma_1|gamma_2|mlp.fc1|mlp.fc2` (all blocks)
 * - `levels.{i}.blocks.{j}.mixers.{s}.in_proj|x_proj|dt_proj|A_log|D|conv1d_x|conv1d_z`
 *   (extractor j < depth, scan s in the order of `config.scans`)
 * - `levels.{i}.blocks.{j}.out_proj.weight` (extractor: the moved Linear, no bias)
 * - `levels.{i}.blocks.{j}.mixer.qkv|proj` (attention blocks, j ≥ depth)
 * - `levels.{i}.downsample.reduction.0.weight` (stages before the last)
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { attention, declareAttention } from "./layers/attention.ts";
import { declareLinear, linear } from "./layers/basic.ts";
import { declareResidualBlock, residualBlock } from "./layers/block.ts";
import type { LayerContext } from "./layers/context.ts";
import { windowPartition, windowReverse } from "./layers/window.ts";
import { declareMixer, mixerCore, mixerSizes } from "./mixer.ts";
import type { ParamStore } from "./params.ts";
import { permute } from "./backend/kernels/permute.ts";
import { inverse, scanOrder } from "./scan_order.ts";
import type { ModelConfig } from "./types.ts";

/** Declares the blocks of LGFI stage `prefix` (extractors, then attention). */
export function declareLgfiStage(
  store: ParamStore,
  prefix: string,
  config: ModelConfig,
  dim: number,
  depth: number,
  attentionDepth: number,
): void {
  const { dInner } = mixerSizes(dim, config.mixer);
  for (let j = 0; j < depth; j++) {
    const p = `${prefix}.blocks.${j}`;
    declareResidualBlock(store, p, dim, config.mlpRatio, config.layerScale);
    config.scans.forEach((_, s) =>
      declareMixer(store, `${p}.mixers.${s}`, dim, config.mixer, false)
    );
    declareLinear(store, `${p}.out_proj`, dInner, dim, false);
  }
  for (let k = 0; k < attentionDepth; k++) {
    const p = `${prefix}.blocks.${depth + k}`;
    declareResidualBlock(store, p, dim, config.mlpRatio, config.layerScale);
    declareAttention(store, `${p}.mixer`, dim, true);
  }
}

/**
 * The local extractor's token mixer on windows x [Bw, wh·ww, C]: the sum over
 * scan orders of each order's mixer (restored to window order), then out_proj.
 */
export function localExtractorMix(
  ctx: LayerContext,
  prefix: string,
  x: tf.Tensor3D,
  config: ModelConfig,
  windowH: number,
  windowW: number,
): tf.Tensor3D {
  let sum: tf.Tensor3D | null = null;
  config.scans.forEach((name, s) => {
    const order = scanOrder(windowH, windowW, name);
    const seq = permute(x, order, 1) as tf.Tensor3D;
    const y = mixerCore(ctx, `${prefix}.mixers.${s}`, seq, config.mixer);
    const back = permute(y, inverse(order), 1) as tf.Tensor3D;
    sum = sum === null ? back : tf.add(sum, back);
  });
  return linear(ctx, `${prefix}.out_proj`, sum!) as tf.Tensor3D;
}

/** Runs the blocks of an LGFI stage on x [B, H, W, C] (no downsample). */
export function lgfiStage(
  ctx: LayerContext,
  prefix: string,
  x: tf.Tensor4D,
  config: ModelConfig,
  heads: number,
  window: number,
  depth: number,
  attentionDepth: number,
  dropPathRates: number[],
): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const toTokens = (m: tf.Tensor4D, local: boolean): tf.Tensor3D =>
    local ? windowPartition(m, window) : tf.reshape(m, [b, h * w, c]);
  const toMap = (t: tf.Tensor3D, local: boolean): tf.Tensor4D =>
    local ? windowReverse(t, window, h, w) : tf.reshape(t, [b, h, w, c]);

  let y = x;
  if (depth > 0) {
    const local = config.extractor === "local";
    const [wh, ww] = local ? [window, window] : [h, w];
    let t = toTokens(y, local);
    for (let j = 0; j < depth; j++) {
      const p = `${prefix}.blocks.${j}`;
      t = residualBlock(
        ctx,
        p,
        t,
        (u) => localExtractorMix(ctx, p, u, config, wh, ww),
        dropPathRates[j],
      );
    }
    y = toMap(t, local);
  }
  if (attentionDepth > 0) {
    const local = config.attention === "local";
    let t = toTokens(y, local);
    for (let k = 0; k < attentionDepth; k++) {
      const p = `${prefix}.blocks.${depth + k}`;
      t = residualBlock(
        ctx,
        p,
        t,
        (u) => attention(ctx, `${p}.mixer`, u, heads),
        dropPathRates[depth + k],
      );
    }
    y = toMap(t, local);
  }
  return y;
}
