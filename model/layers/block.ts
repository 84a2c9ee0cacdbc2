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
  const run = (t: Tensor3D) => blockForward(ctx, prefix, t, mix, dropPathRate);
  return ctx.checkpoint ? checkpointed(ctx, prefix, x, run) : run(x);
}

function blockForward(
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

interface EngineInternals {
  state: { activeTape: unknown };
  gradients(
    f: () => Tensor,
    xs: Tensor[],
    dy?: Tensor,
    allowNoGradients?: boolean,
  ): { value: Tensor; grads: (Tensor | undefined)[] };
}

/**
 * Runs `fn` (which must read only the trainable parameters under `prefix.`,
 * no BatchNorm) without keeping its intermediates for the backward pass; the
 * backward pass recomputes it and differentiates the recomputation. Random
 * draws come from named seeded streams, so the recomputation is identical.
 */
export function checkpointed(
  ctx: LayerContext,
  prefix: string,
  x: Tensor3D,
  fn: (t: Tensor3D) => Tensor3D,
): Tensor3D {
  const vars = [...ctx.store.params].filter(([k]) => k.startsWith(`${prefix}.`))
    .map(([, v]) => v as Tensor);
  const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const xi = args[0] as Tensor3D;
    // keep the block input alive for the recomputation (the forward's tidy
    // would otherwise release it)
    (args[args.length - 1] as tf.GradSaveFunc)([xi]);
    return {
      value: tf.tidy(() => fn(xi)),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const xs = saved[0] as Tensor3D;
        const engine = tf.engine() as unknown as EngineInternals;
        // a nested gradients() call resets the engine's active tape, which
        // the enclosing backward pass still needs at its end
        const tape = engine.state.activeTape;
        try {
          const { value, grads } = engine.gradients(
            () => fn(xs),
            [xs, ...vars],
            dy,
            true,
          );
          value.dispose();
          return grads.map((g, i) =>
            g ?? tf.zerosLike(i === 0 ? xs : vars[i - 1])
          );
        } finally {
          engine.state.activeTape = tape;
        }
      },
    };
  });
  return op(x, ...vars) as Tensor3D;
}
