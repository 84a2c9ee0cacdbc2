/**
 * AdamW with decoupled weight decay, PyTorch semantics, on tf.Variables.
 *
 * One step for a parameter p with gradient g, at that parameter's step t
 * (counted from 1, only over steps where it received a gradient):
 *
 * ```
 * p ← p · (1 − lr·wd)                      (only when p decays, see below)
 * m ← β1·m + (1 − β1)·g
 * v ← β2·v + (1 − β2)·g²
 * p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
 * ```
 *
 * exactly as `torch.optim.AdamW` (1.13, `amsgrad=False`). A parameter without
 * a gradient in a step is skipped entirely (no decay, no moment update), as
 * PyTorch skips parameters whose `.grad` is `None`.
 *
 * Decay mask ({@linkcode decaysParameter}): weight decay applies only to
 * parameters of rank ≥ 2 (conv kernels, linear weights). Parameters of rank
 * ≤ 1 — biases, norm scales/shifts, layer-scale γ, the mixer's `D` — and
 * every parameter whose name ends in `A_log` (the SSM's log state matrix,
 * rank 2) are not decayed. This is the grouping MambaVision's training code
 * uses (timm's `param_groups_weight_decay` plus the `A_log` / `D`
 * no-weight-decay names).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "../model/mod.ts";
import type { OptimizerSettings } from "./types.ts";

/**
 * Whether a parameter gets weight decay: rank ≥ 2 and the name does not end
 * in `A_log`.
 *
 * @param name the parameter's state-dict name.
 * @param rank the parameter's rank.
 */
export function decaysParameter(name: string, rank: number): boolean {
  return rank >= 2 && !name.endsWith("A_log");
}

function checkSettings(s: OptimizerSettings): void {
  const bad = (field: string, value: unknown, why: string) => {
    throw new RangeError(
      `optimizer.${field} ${why}, got ${JSON.stringify(value)}`,
    );
  };
  if (!(Number.isFinite(s.lr) && s.lr >= 0)) bad("lr", s.lr, "must be ≥ 0");
  if (
    !Array.isArray(s.betas) || s.betas.length !== 2 ||
    !s.betas.every((b) => Number.isFinite(b) && b >= 0 && b < 1)
  ) bad("betas", s.betas, "must be two numbers in [0, 1)");
  if (!(Number.isFinite(s.eps) && s.eps > 0)) bad("eps", s.eps, "must be > 0");
  if (!(Number.isFinite(s.weightDecay) && s.weightDecay >= 0)) {
    bad("weightDecay", s.weightDecay, "must be ≥ 0");
  }
}

/** Options of {@linkcode AdamW.step}. */
export interface AdamWStepOptions {
  /** dispose each gradient as soon as its parameter is updated (default false). */
  disposeGrads?: boolean;
}

/** Where {@linkcode AdamW} keeps its moments. */
export type MomentStorage = "device" | "host";

/** Options of the {@linkcode AdamW} constructor. */
export interface AdamWOptions {
  /**
   * `device` (default): the moments are `tf.Variable`s on the backend.
   * `host`: they are `Float32Array`s in JavaScript memory and the update runs
   * in JavaScript with float32 rounding after every operation — the same
   * IEEE float32 arithmetic as the backend's kernels, so bit-identical to
   * `device` — keeping two parameter-sized copies of the model out of the
   * backend's memory (the wasm heap is limited to 4 GiB). Needs a backend
   * with synchronous reads (`cpu`, `wasm`; not `webgpu`).
   */
  moments?: MomentStorage;
}

interface ParamState {
  m: tf.Variable | Float32Array;
  v: tf.Variable | Float32Array;
  step: number;
}

const f32 = Math.fround;

/**
 * One AdamW update of a parameter on the host, element by element, with
 * float32 rounding after each operation in the order of the tensor path.
 */
function hostUpdate(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  c: {
    decay: number | null;
    b1: number;
    b1c: number;
    b2: number;
    b2c: number;
    bc2Sqrt: number;
    eps: number;
    stepSize: number;
  },
): Float32Array {
  const next = new Float32Array(p.length);
  const { decay, b1, b1c, b2, b2c, bc2Sqrt, eps, stepSize } = c;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    const base = decay === null ? p[i] : f32(p[i] * decay);
    const mi = f32(f32(m[i] * b1) + f32(gi * b1c));
    const vi = f32(f32(v[i] * b2) + f32(f32(gi * gi) * b2c));
    m[i] = mi;
    v[i] = vi;
    const denom = f32(f32(f32(Math.sqrt(vi)) / bc2Sqrt) + eps);
    next[i] = f32(base - f32(f32(mi / denom) * stepSize));
  }
  return next;
}

/**
 * AdamW over a named parameter map (see the module doc for the update and
 * the decay mask). The learning rate is set per step through
 * {@linkcode AdamW.lr}.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { AdamW } from "./optim.ts";
 * const w = tf.variable(tf.ones([2, 2]));
 * const opt = new AdamW(new Map([["w", w]]), {
 *   lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.05,
 * });
 * opt.step(new Map([["w", tf.onesLike(w)]]));
 * opt.dispose();
 * ```
 */
export class AdamW {
  /** the learning rate used by the next {@linkcode AdamW.step}. */
  lr: number;
  /** the settings it was created with. */
  readonly settings: Readonly<OptimizerSettings>;
  #params: Map<string, tf.Variable>;
  #decay: Map<string, boolean>;
  #state = new Map<string, ParamState>();
  #moments: MomentStorage;

  /**
   * Creates the optimizer; moment buffers are allocated on first use.
   *
   * @param params the trainable parameters, keyed by state-dict name.
   * @param settings lr, betas, eps and weight decay.
   * @param decay overrides the decay mask (default {@linkcode decaysParameter}).
   * @param options where the moments live (default on the device).
   */
  constructor(
    params: Map<string, tf.Variable>,
    settings: OptimizerSettings,
    decay: (name: string, rank: number) => boolean = decaysParameter,
    options: AdamWOptions = {},
  ) {
    checkSettings(settings);
    const moments = options.moments ?? "device";
    if (moments !== "device" && moments !== "host") {
      throw new RangeError(
        `AdamW options.moments must be "device" or "host", got ${
          JSON.stringify(moments)
        }`,
      );
    }
    this.#moments = moments;
    this.settings = { ...settings, betas: [...settings.betas] };
    this.lr = settings.lr;
    this.#params = params;
    this.#decay = new Map(
      [...params].map(([name, p]) => [name, decay(name, p.rank)]),
    );
  }

  /** Whether the named parameter is weight-decayed. */
  decays(name: string): boolean {
    const d = this.#decay.get(name);
    if (d === undefined) throw new Error(`AdamW: unknown parameter "${name}"`);
    return d;
  }

  /** How many updates the named parameter has received. */
  stepsOf(name: string): number {
    return this.#state.get(name)?.step ?? 0;
  }

  /**
   * Applies one update with the current {@linkcode AdamW.lr}. Parameters
   * missing from `grads` are skipped. A gradient is a tensor shaped like
   * its parameter, or a `Float32Array` of its values in row-major order
   * (e.g. from `accumulatedGradientsOnHost` in train.ts).
   *
   * Memory: parameters are updated one at a time, each inside its own
   * `tf.tidy`, so the temporaries alive at any moment are those of one
   * parameter (never whole-model copies); the moments `m` and `v` are
   * `tf.Variable`s updated in place. With `options.disposeGrads` each
   * gradient is disposed right after its parameter is updated (after every
   * gradient has been checked, so a bad map disposes nothing); otherwise
   * the gradients are left to the caller. The result is bit-identical to
   * updating all parameters inside one tidy.
   *
   * @param grads gradients keyed by parameter name, shaped like the parameter.
   * @param options `disposeGrads`: dispose each gradient once applied.
   */
  step(
    grads:
      | Map<string, Tensor | Float32Array>
      | Record<string, Tensor | Float32Array>,
    options: AdamWStepOptions = {},
  ): void {
    if (!(Number.isFinite(this.lr) && this.lr >= 0)) {
      throw new RangeError(`AdamW.lr must be ≥ 0, got ${this.lr}`);
    }
    const entries = grads instanceof Map ? [...grads] : Object.entries(grads);
    const [b1, b2] = this.settings.betas;
    const { eps, weightDecay } = this.settings;
    const lr = this.lr;
    // check every gradient before touching any parameter
    const work = entries.map(([name, g]) => {
      const p = this.#params.get(name);
      if (p === undefined) {
        throw new Error(`AdamW: gradient for unknown parameter "${name}"`);
      }
      if (g instanceof Float32Array) {
        if (g.length !== p.size) {
          throw new Error(
            `AdamW: gradient of "${name}" has ${g.length} values, parameter has ${p.size} ([${p.shape}])`,
          );
        }
      } else if (!tf.util.arraysEqual(p.shape, g.shape)) {
        throw new Error(
          `AdamW: gradient of "${name}" has shape [${g.shape}], parameter has [${p.shape}]`,
        );
      }
      return { name, p, g };
    });
    for (const { name, p, g } of work) {
      let st = this.#state.get(name);
      if (st === undefined) {
        st = this.#moments === "host"
          ? {
            m: new Float32Array(p.size),
            v: new Float32Array(p.size),
            step: 0,
          }
          : {
            m: tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
            v: tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
            step: 0,
          };
        this.#state.set(name, st);
      }
      st.step += 1;
      const { m: mState, v: vState, step: t } = st;
      const decay = this.#decay.get(name)! && weightDecay > 0;
      const stepSize = lr / (1 - b1 ** t);
      const bc2Sqrt = Math.sqrt(1 - b2 ** t);
      if (mState instanceof Float32Array) {
        const next = hostUpdate(
          p.dataSync() as Float32Array,
          g instanceof Float32Array ? g : g.dataSync() as Float32Array,
          mState,
          vState as Float32Array,
          {
            // the scalars the tensor path makes with tf.scalar (float32)
            decay: decay ? f32(1 - lr * weightDecay) : null,
            b1: f32(b1),
            b1c: f32(1 - b1),
            b2: f32(b2),
            b2c: f32(1 - b2),
            bc2Sqrt: f32(bc2Sqrt),
            eps: f32(eps),
            stepSize: f32(stepSize),
          },
        );
        tf.tidy(() => p.assign(tf.tensor(next, p.shape, "float32")));
      } else {
        const mVar = mState, vVar = vState as tf.Variable;
        const gIn = g;
        tf.tidy(() => {
          const g = gIn instanceof Float32Array
            ? tf.tensor(gIn, p.shape, "float32")
            : gIn;
          const base = decay ? p.mul(tf.scalar(1 - lr * weightDecay)) : p;
          const m = mVar.mul(tf.scalar(b1)).add(g.mul(tf.scalar(1 - b1)));
          const v = vVar.mul(tf.scalar(b2)).add(
            g.mul(g).mul(tf.scalar(1 - b2)),
          );
          const denom = v.sqrt().div(tf.scalar(bc2Sqrt)).add(tf.scalar(eps));
          const next = base.sub(m.div(denom).mul(tf.scalar(stepSize)));
          mVar.assign(m);
          vVar.assign(v);
          p.assign(next);
        });
      }
      if (options.disposeGrads && !(g instanceof Float32Array)) g.dispose();
    }
  }

  /**
   * Bytes held by the moment buffers (two float32 copies of each updated
   * parameter), on the device or the host (see {@linkcode AdamW.moments}).
   */
  stateBytes(): number {
    let n = 0;
    for (const { m, v } of this.#state.values()) {
      n += m instanceof Float32Array
        ? m.byteLength + (v as Float32Array).byteLength
        : 4 * (m.size + (v as tf.Variable).size);
    }
    return n;
  }

  /** Where the moments live (`device` or `host`). */
  get moments(): MomentStorage {
    return this.#moments;
  }

  /** Releases the moment buffers (not the parameters). */
  dispose(): void {
    for (const { m, v } of this.#state.values()) {
      if (!(m instanceof Float32Array)) m.dispose();
      if (!(v instanceof Float32Array)) v.dispose();
    }
    this.#state.clear();
  }
}
