/**
 * Basic layers, NHWC / channels-last: linear, 2-D convolution, activations,
 * MLP, LayerNorm, BatchNorm, dropout and drop path. Each layer has a
 * `declare*` function that registers its parameters under a PyTorch-style
 * prefix and a call function that reads them from the context's store.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Tensor4D } from "../tensor_types.ts";
import type { ParamStore } from "../params.ts";
import { constant, torchDefaultUniform, truncNormal } from "../params.ts";
import { type LayerContext, passRng } from "./context.ts";
import { matMul } from "./matmul.ts";

/** How a Linear layer is initialised. */
export type LinearInit = "trunc_normal" | "torch_default";

/**
 * Declares `prefix.weight` [out, in] (and `prefix.bias` [out]). MambaVision
 * initialises every Linear with trunc_normal(0.02) and zero bias.
 */
export function declareLinear(
  store: ParamStore,
  prefix: string,
  inFeatures: number,
  outFeatures: number,
  bias: boolean,
  init: LinearInit = "trunc_normal",
): void {
  const w = init === "trunc_normal"
    ? truncNormal(0.02)
    : torchDefaultUniform(inFeatures);
  store.declare(`${prefix}.weight`, [outFeatures, inFeatures], "linear", w);
  if (bias) {
    store.declare(
      `${prefix}.bias`,
      [outFeatures],
      "plain",
      init === "trunc_normal" ? constant(0) : torchDefaultUniform(inFeatures),
    );
  }
}

/** y = x·Wᵀ + b over the last axis of x (any rank ≥ 2). */
export function linear(
  ctx: LayerContext,
  prefix: string,
  x: Tensor,
): Tensor {
  const w = ctx.store.get(`${prefix}.weight`);
  const b = ctx.store.params.get(`${prefix}.bias`);
  const inF = x.shape[x.rank - 1];
  const outShape: number[] = [...x.shape.slice(0, -1), w.shape[1] as number];
  let y: Tensor = matMul(
    tf.reshape(x, [-1, inF]) as Tensor2D,
    w as unknown as Tensor2D,
  );
  if (b) y = tf.add(y, b);
  return tf.reshape(y, outShape);
}

/** Declares a Conv2d `prefix.weight` [out, in, k, k] (+ bias), PyTorch default init. */
export function declareConv2d(
  store: ParamStore,
  prefix: string,
  inChannels: number,
  outChannels: number,
  kernel: number,
  bias: boolean,
): void {
  const fanIn = inChannels * kernel * kernel;
  store.declare(
    `${prefix}.weight`,
    [outChannels, inChannels, kernel, kernel],
    "conv2d",
    torchDefaultUniform(fanIn),
  );
  if (bias) {
    store.declare(
      `${prefix}.bias`,
      [outChannels],
      "plain",
      torchDefaultUniform(fanIn),
    );
  }
}

/** NHWC conv2d with symmetric zero padding `pad` (PyTorch semantics). */
export function conv2d(
  ctx: LayerContext,
  prefix: string,
  x: Tensor4D,
  stride: number,
  pad: number,
): Tensor4D {
  const w = ctx.store.get(`${prefix}.weight`) as Tensor4D;
  const b = ctx.store.params.get(`${prefix}.bias`);
  let y = tf.conv2d(x, w, stride, pad);
  if (b) y = tf.add(y, b);
  return y;
}

/** GELU, exact (erf) form: PyTorch's `nn.GELU()`. */
export function gelu(x: Tensor): Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/** GELU, tanh approximation: PyTorch's `nn.GELU(approximate='tanh')`. */
export function geluTanh(x: Tensor): Tensor {
  const c = Math.sqrt(2 / Math.PI);
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), c);
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
}

/** SiLU x·σ(x). */
export function silu(x: Tensor): Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** Declares timm's `Mlp`: `prefix.fc1` (dim → hidden), `prefix.fc2` (hidden → dim). */
export function declareMlp(
  store: ParamStore,
  prefix: string,
  dim: number,
  hidden: number,
): void {
  declareLinear(store, `${prefix}.fc1`, dim, hidden, true);
  declareLinear(store, `${prefix}.fc2`, hidden, dim, true);
}

/** timm `Mlp` (drop 0): fc2(GELU(fc1(x))). */
export function mlp(
  ctx: LayerContext,
  prefix: string,
  x: Tensor,
): Tensor {
  return linear(ctx, `${prefix}.fc2`, gelu(linear(ctx, `${prefix}.fc1`, x)));
}

/** Declares a LayerNorm over `dim` features (`weight` 1, `bias` 0). */
export function declareLayerNorm(
  store: ParamStore,
  prefix: string,
  dim: number,
): void {
  store.declare(`${prefix}.weight`, [dim], "plain", constant(1));
  store.declare(`${prefix}.bias`, [dim], "plain", constant(0));
}

/** LayerNorm over the last axis (biased variance, eps 1e-5 as PyTorch). */
export function layerNorm(
  ctx: LayerContext,
  prefix: string,
  x: Tensor,
  eps = 1e-5,
): Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  const xn = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
  return tf.add(
    tf.mul(xn, ctx.store.get(`${prefix}.weight`)),
    ctx.store.get(`${prefix}.bias`),
  );
}

/**
 * Declares a BatchNorm2d: `weight` 1, `bias` 0 (trainable) and buffers
 * `running_mean` 0, `running_var` 1, `num_batches_tracked` 0 (int, I64 in files).
 */
export function declareBatchNorm(
  store: ParamStore,
  prefix: string,
  dim: number,
): void {
  store.declare(`${prefix}.weight`, [dim], "plain", constant(1));
  store.declare(`${prefix}.bias`, [dim], "plain", constant(0));
  store.declare(`${prefix}.running_mean`, [dim], "plain", constant(0), {
    trainable: false,
  });
  store.declare(`${prefix}.running_var`, [dim], "plain", constant(1), {
    trainable: false,
  });
  store.declare(`${prefix}.num_batches_tracked`, [], "plain", constant(0), {
    trainable: false,
    dtype: "int32",
  });
}

/**
 * BatchNorm2d on NHWC (PyTorch semantics). Training: normalise with the
 * batch's biased variance and update the running stats in place with
 * momentum 0.1 and the unbiased variance, incrementing `num_batches_tracked`.
 * Evaluation: normalise with the running stats.
 */
export function batchNorm(
  ctx: LayerContext,
  prefix: string,
  x: Tensor4D,
  eps = 1e-5,
  momentum = 0.1,
): Tensor4D {
  const w = ctx.store.get(`${prefix}.weight`);
  const b = ctx.store.get(`${prefix}.bias`);
  const rm = ctx.store.get(`${prefix}.running_mean`);
  const rv = ctx.store.get(`${prefix}.running_var`);
  if (!ctx.training) {
    const scale = tf.div(w, tf.sqrt(tf.add(rv, eps)));
    return tf.add(tf.mul(tf.sub(x, rm), scale), b);
  }
  const [n, h, wd] = x.shape;
  const count = n * h * wd;
  if (count < 2) {
    throw new Error(
      `${prefix}: BatchNorm in training mode needs more than 1 value per channel, got input shape [${x.shape}]`,
    );
  }
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const y = tf.add(
    tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), w),
    b,
  );
  tf.tidy(() => {
    rm.assign(tf.add(tf.mul(rm, 1 - momentum), tf.mul(mean, momentum)));
    rv.assign(
      tf.add(
        tf.mul(rv, 1 - momentum),
        tf.mul(variance, momentum * count / (count - 1)),
      ),
    );
    const nb = ctx.store.get(`${prefix}.num_batches_tracked`);
    nb.assign(tf.add(nb, tf.scalar(1, "int32")));
  });
  return y as Tensor4D;
}

/**
 * timm `DropPath` in training mode: each sample's residual branch is kept
 * with probability 1 − rate and scaled by 1 / (1 − rate). The mask comes
 * from the pass's stream named `name`. Identity in eval mode or at rate 0.
 */
export function dropPath(
  ctx: LayerContext,
  name: string,
  x: Tensor,
  rate: number,
): Tensor {
  if (!ctx.training || rate <= 0) return x;
  const keep = 1 - rate;
  const rng = passRng(ctx, name);
  const batch = x.shape[0];
  const mask = new Float32Array(batch);
  for (let i = 0; i < batch; i++) {
    mask[i] = Math.floor(keep + rng.next()) / keep;
  }
  const shape = [batch, ...x.shape.slice(1).map(() => 1)];
  return tf.mul(x, tf.tensor(mask, shape));
}

/** Dropout in training mode (inverted scaling), mask from the stream `name`. */
export function dropout(
  ctx: LayerContext,
  name: string,
  x: Tensor,
  rate: number,
): Tensor {
  if (!ctx.training || rate <= 0) return x;
  const keep = 1 - rate;
  const rng = passRng(ctx, name);
  const mask = new Float32Array(x.size);
  for (let i = 0; i < x.size; i++) {
    mask[i] = rng.next() < keep ? 1 / keep : 0;
  }
  return tf.mul(x, tf.tensor(mask, x.shape));
}
