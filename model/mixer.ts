/**
 * The MambaVision mixer (selective-scan token mixer) on channels-last
 * sequences [B, L, C]:
 *
 * in_proj (C → d_inner, no bias) → split into x and z (d_inner/2 each) →
 * depthwise conv1d (kernel d_conv, 'same' padding, no bias) + SiLU on each →
 * x_proj (d_inner/2 → dt_rank + 2·d_state) → dt_proj (dt_rank → d_inner/2,
 * bias) → selective scan of x with Δ = softplus(dt_proj(dt) + bias) →
 * concat(y, z) → out_proj (d_inner → C, no bias). No z gating.
 *
 * `dt_rank = ⌈C/16⌉`, A = −exp(A_log). MERba's local extractor uses the mixer
 * without its `out_proj` ({@link mixerCore}).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ParamStore } from "./params.ts";
import { constant, truncNormal } from "./params.ts";
import { declareLinear, linear, silu } from "./layers/basic.ts";
import type { LayerContext } from "./layers/context.ts";
import { selectiveScan } from "./selective_scan.ts";
import type { MixerConfig } from "./types.ts";

/** Derived sizes of a mixer over `dim` channels. */
export function mixerSizes(
  dim: number,
  cfg: MixerConfig,
): { dInner: number; half: number; dtRank: number } {
  const dInner = Math.trunc(cfg.expand * dim);
  return { dInner, half: dInner / 2, dtRank: Math.ceil(dim / 16) };
}

/**
 * Declares the mixer's parameters under `prefix` (`in_proj`, `x_proj`,
 * `dt_proj`, `A_log`, `D`, `conv1d_x`, `conv1d_z`, and `out_proj` unless
 * `withOutProj` is false).
 */
export function declareMixer(
  store: ParamStore,
  prefix: string,
  dim: number,
  cfg: MixerConfig,
  withOutProj = true,
): void {
  const { dInner, half, dtRank } = mixerSizes(dim, cfg);
  const n = cfg.dState;
  declareLinear(store, `${prefix}.in_proj`, dim, dInner, false);
  declareLinear(store, `${prefix}.x_proj`, half, dtRank + 2 * n, false);
  if ((cfg.dtInit ?? "reference") === "mamba") {
    const std = dtRank ** -0.5;
    store.declare(`${prefix}.dt_proj.weight`, [half, dtRank], "linear", {
      kind: "uniform",
      bound: std,
    });
    store.declare(`${prefix}.dt_proj.bias`, [half], "plain", {
      kind: "dtBias",
      dtMin: 0.001,
      dtMax: 0.1,
      floor: 1e-4,
    });
  } else {
    store.declare(
      `${prefix}.dt_proj.weight`,
      [half, dtRank],
      "linear",
      truncNormal(0.02),
    );
    store.declare(`${prefix}.dt_proj.bias`, [half], "plain", constant(0));
  }
  store.declare(`${prefix}.A_log`, [half, n], "plain", { kind: "aLog" });
  store.declare(`${prefix}.D`, [half], "plain", constant(1));
  if (withOutProj) {
    declareLinear(store, `${prefix}.out_proj`, dInner, dim, false);
  }
  const convBound = {
    kind: "uniform" as const,
    bound: 1 / Math.sqrt(cfg.dConv),
  };
  store.declare(
    `${prefix}.conv1d_x.weight`,
    [half, 1, cfg.dConv],
    "dwconv1d",
    convBound,
  );
  store.declare(
    `${prefix}.conv1d_z.weight`,
    [half, 1, cfg.dConv],
    "dwconv1d",
    convBound,
  );
}

/**
 * Depthwise conv1d over the sequence axis of x [B, L, C] with weight [K, C]
 * and PyTorch's 'same' padding (left ⌊(K−1)/2⌋, right the rest), as a sum of
 * K shifted, scaled copies (differentiable on every backend).
 */
export function depthwiseConv1dSame(
  x: tf.Tensor3D,
  weight: tf.Tensor2D,
): tf.Tensor3D {
  const [, l] = x.shape;
  const k = weight.shape[0];
  const left = Math.floor((k - 1) / 2);
  const xp = tf.pad(x, [[0, 0], [left, k - 1 - left], [0, 0]]);
  let y: tf.Tensor3D | null = null;
  for (let j = 0; j < k; j++) {
    const term = tf.mul(
      tf.slice(xp, [0, j, 0], [-1, l, -1]),
      tf.squeeze(tf.slice(weight, [j, 0], [1, -1]), [0]),
    ) as tf.Tensor3D;
    y = y === null ? term : tf.add(y, term);
  }
  return y!;
}

/** The mixer up to (excluding) out_proj: x [B, L, C] → [B, L, d_inner]. */
export function mixerCore(
  ctx: LayerContext,
  prefix: string,
  x: tf.Tensor3D,
  cfg: MixerConfig,
): tf.Tensor3D {
  const dim = x.shape[2];
  const { half, dtRank } = mixerSizes(dim, cfg);
  const n = cfg.dState;
  const s = ctx.store;
  const xz = linear(ctx, `${prefix}.in_proj`, x) as tf.Tensor3D;
  const [xs, zs] = tf.split(xz, 2, 2) as [tf.Tensor3D, tf.Tensor3D];
  const xc = silu(
    depthwiseConv1dSame(xs, s.get(`${prefix}.conv1d_x.weight`) as tf.Tensor2D),
  ) as tf.Tensor3D;
  const zc = silu(
    depthwiseConv1dSame(zs, s.get(`${prefix}.conv1d_z.weight`) as tf.Tensor2D),
  ) as tf.Tensor3D;
  const xdbl = linear(ctx, `${prefix}.x_proj`, xc) as tf.Tensor3D;
  const [dt, B, C] = tf.split(xdbl, [dtRank, n, n], 2) as tf.Tensor3D[];
  const delta = linear(ctx, `${prefix}.dt_proj`, dt) as tf.Tensor3D;
  const A = tf.neg(tf.exp(s.get(`${prefix}.A_log`))) as tf.Tensor2D;
  const bias = s.get(`${prefix}.dt_proj.bias`) as tf.Tensor1D;
  const y = selectiveScan({
    u: xc,
    delta,
    A,
    B,
    C,
    D: s.get(`${prefix}.D`) as tf.Tensor1D,
    deltaBias: cfg.dtBiasTwice ? bias : tf.zeros([half]) as tf.Tensor1D,
  }, true);
  return tf.concat([y, zc], 2);
}

/** The full mixer: out_proj(mixerCore(x)). */
export function mixer(
  ctx: LayerContext,
  prefix: string,
  x: tf.Tensor3D,
  cfg: MixerConfig,
): tf.Tensor3D {
  return linear(
    ctx,
    `${prefix}.out_proj`,
    mixerCore(ctx, prefix, x, cfg),
  ) as tf.Tensor3D;
}
