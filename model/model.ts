/**
 * Model assembly: {@link buildModel} turns a {@link ModelConfig} into a
 * {@link MerModel} (named parameter tree + forward function) for both
 * families, which share every layer:
 *
 * - `patch_embed` (two stride-2 convs) → stages `levels.{i}`: the first
 *   `convStages` are MambaVision conv stages (`ConvBlock`s); the rest are
 *   MambaVision token stages (family `mambavision`) or MERba LGFI stages
 *   (family `merba`) → `levels.{i}.downsample` after every stage but the last
 *   → `norm` (BatchNorm2d) → global average pool → dropout (training) →
 *   `head` (linear) or `head_coarse` + `head_fine` (DGCM).
 * - Drop path rates rise linearly from 0 to `dropPath` over all blocks in
 *   execution order (conv blocks included, as the reference's `dpr`).
 * - Randomness of a training pass (dropout, drop path) comes from
 *   `ForwardOptions.seed`, split per layer by name.
 * - `features[i]` is stage i's output before its downsample (NHWC).
 *
 * Memory: TensorFlow.js keeps every intermediate tensor of a gradient pass
 * until the backward pass ends, so at 224×224 MERba-base fits only small
 * batches in the wasm backend's 4 GiB heap. With
 * `ForwardOptions.checkpoint` the token blocks are recomputed in the
 * backward pass instead (same loss and gradients, a fraction of the
 * memory; measurements: scripts/bench/README).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { inputHW, stageGeometry, validateModelConfig } from "./config.ts";
import {
  batchNorm,
  declareBatchNorm,
  declareLinear,
  dropout,
  linear,
} from "./layers/basic.ts";
import {
  convBlock,
  declareConvBlock,
  declareDownsample,
  declarePatchEmbed,
  downsample,
  patchEmbed,
} from "./layers/conv_blocks.ts";
import type { LayerContext } from "./layers/context.ts";
import { declareMambaVisionStage, mambaVisionStage } from "./mambavision.ts";
import { declareLgfiStage, lgfiStage } from "./merba.ts";
import { ParamStore } from "./params.ts";
import type {
  ForwardOptions,
  MerModel,
  ModelConfig,
  ModelOutput,
} from "./types.ts";

/** Blocks run by stage i, in order (conv blocks, or extractor + attention blocks). */
function blocksInStage(config: ModelConfig, i: number): number {
  return config.depths[i] +
    (i < config.convStages ? 0 : config.attentionDepths[i]);
}

/** Drop-path rate of every block of every stage (linear 0 → dropPath). */
export function dropPathSchedule(config: ModelConfig): number[][] {
  const counts = config.dims.map((_, i) => blocksInStage(config, i));
  const total = counts.reduce((a, b) => a + b, 0);
  const rates: number[] = [];
  for (let k = 0; k < total; k++) {
    rates.push(total === 1 ? 0 : (config.dropPath * k) / (total - 1));
  }
  const out: number[][] = [];
  let at = 0;
  for (const c of counts) {
    out.push(rates.slice(at, at + c));
    at += c;
  }
  return out;
}

/** Declares every parameter and buffer of `config` into `store`. */
export function declareModel(store: ParamStore, config: ModelConfig): void {
  const geo = stageGeometry(config);
  declarePatchEmbed(
    store,
    "patch_embed",
    config.inChannels,
    config.stemDim,
    config.dims[0],
  );
  for (let i = 0; i < geo.length; i++) {
    const prefix = `levels.${i}`;
    const dim = config.dims[i];
    if (geo[i].kind === "conv") {
      for (let j = 0; j < config.depths[i]; j++) {
        declareConvBlock(store, `${prefix}.blocks.${j}`, dim, null);
      }
    } else if (config.family === "mambavision") {
      declareMambaVisionStage(store, prefix, config, dim, config.depths[i]);
    } else {
      declareLgfiStage(
        store,
        prefix,
        config,
        dim,
        config.depths[i],
        config.attentionDepths[i],
      );
    }
    if (i < geo.length - 1) {
      declareDownsample(store, `${prefix}.downsample`, dim, config.dims[i + 1]);
    }
  }
  const last = config.dims[config.dims.length - 1];
  declareBatchNorm(store, "norm", last);
  if (config.head === "linear") {
    declareLinear(store, "head", last, config.numClasses, true);
  } else {
    declareLinear(store, "head_coarse", last, 4, true);
    declareLinear(store, "head_fine", last, 4, true);
  }
}

/**
 * Number of trainable scalars of `config` (validated), optionally only those
 * whose name starts with `prefix` (e.g. `levels.2.`).
 */
export function countParams(config: ModelConfig, prefix = ""): number {
  validateModelConfig(config);
  const store = new ParamStore();
  declareModel(store, config);
  return store.countTrainable(prefix);
}

/** Runs the whole network; see the module doc. */
function forward(
  store: ParamStore,
  config: ModelConfig,
  x: tf.Tensor4D,
  options: ForwardOptions,
): ModelOutput {
  const geo = stageGeometry(config);
  const [ih, iw] = inputHW(config);
  if (
    x.rank !== 4 || x.shape[1] !== ih || x.shape[2] !== iw ||
    x.shape[3] !== config.inChannels
  ) {
    throw new Error(
      `model input: expected NHWC [B, ${ih}, ${iw}, ${config.inChannels}] (inputSize, inChannels), got [${x.shape}]`,
    );
  }
  if (
    options.training &&
    (options.seed === undefined || !Number.isFinite(options.seed))
  ) {
    throw new Error(
      `ForwardOptions.seed: required in training mode, got ${options.seed}`,
    );
  }
  const ctx: LayerContext = {
    store,
    training: options.training,
    seed: options.seed,
    checkpoint: options.checkpoint ?? false,
  };
  const rates = dropPathSchedule(config);
  const features: tf.Tensor4D[] = [];
  let y = patchEmbed(ctx, "patch_embed", x);
  for (let i = 0; i < geo.length; i++) {
    const prefix = `levels.${i}`;
    const g = geo[i];
    if (g.kind === "conv") {
      for (let j = 0; j < config.depths[i]; j++) {
        y = convBlock(ctx, `${prefix}.blocks.${j}`, y, rates[i][j]);
      }
    } else if (config.family === "mambavision") {
      y = mambaVisionStage(
        ctx,
        prefix,
        y,
        config,
        config.heads[i],
        g.window,
        config.depths[i],
        rates[i],
      );
    } else {
      y = lgfiStage(
        ctx,
        prefix,
        y,
        config,
        config.heads[i],
        g.window,
        config.depths[i],
        config.attentionDepths[i],
        rates[i],
      );
    }
    if (options.features) features.push(y);
    if (i < geo.length - 1) y = downsample(ctx, `${prefix}.downsample`, y);
  }
  y = batchNorm(ctx, "norm", y);
  let pooled: tf.Tensor = tf.mean(y, [1, 2]);
  pooled = dropout(ctx, "head_drop", pooled, config.dropout);
  const out: ModelOutput = {};
  if (config.head === "linear") {
    out.logits = linear(ctx, "head", pooled) as tf.Tensor2D;
  } else {
    out.coarse = linear(ctx, "head_coarse", pooled) as tf.Tensor2D;
    out.fine = linear(ctx, "head_fine", pooled) as tf.Tensor2D;
  }
  if (options.features) out.features = features;
  return out;
}

/**
 * Builds a model from a validated configuration with weights initialised
 * deterministically from `seed` (same seed → bit-identical weights).
 */
export function buildModel(config: ModelConfig, seed: number): MerModel {
  validateModelConfig(config);
  if (!Number.isFinite(seed)) {
    throw new Error(`buildModel: seed must be a finite number, got ${seed}`);
  }
  const frozen = structuredClone(config);
  const store = new ParamStore();
  declareModel(store, frozen);
  store.materialize(seed);
  const model: MerModel & { store: ParamStore } = {
    config: frozen,
    params: store.params,
    buffers: store.buffers,
    store,
    apply(x: tf.Tensor4D, options: ForwardOptions): ModelOutput {
      return tf.tidy(() =>
        forward(store, frozen, x, options) as unknown as tf.TensorContainer
      ) as unknown as ModelOutput;
    },
    numParams(): number {
      return store.countTrainable();
    },
    dispose(): void {
      store.dispose();
    },
  };
  return model;
}

/** The parameter store behind a model built by {@link buildModel}. */
export function modelStore(model: MerModel): ParamStore {
  const s = (model as MerModel & { store?: ParamStore }).store;
  if (!(s instanceof ParamStore)) {
    throw new Error("modelStore: model was not built by buildModel");
  }
  return s;
}
