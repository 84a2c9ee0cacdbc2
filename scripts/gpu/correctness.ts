/**
 * Correctness of a backend against another (the GPU check's stage 2): the
 * fused selective scan's forward and all seven input gradients, and a
 * small MERba's forward (logits, DGCM loss) and backward (every parameter's
 * gradient), computed from the same float32 inputs on `test` (e.g. webgpu)
 * and on `reference` (the `cpu` backend), compared by normwise relative
 * error ‖test − ref‖₂ / ‖ref‖₂ and by max |test − ref| / max |ref|.
 *
 * Inputs are drawn in JavaScript from seeded streams ({@link StreamRng}), so both
 * backends see identical bits; the model's weights come from the project's
 * seeded initialiser, which is JavaScript too. Backends are switched with
 * {@link initBackend}; no tensor crosses from one to the other.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { buildModel, initBackend, type ModelConfig } from "../../model/mod.ts";
import { StreamRng } from "../../rng/mod.ts";
import type { BackendName } from "../../model/backend/runtime.ts";
import { selectiveScan } from "../../model/selective_scan.ts";
import type { ScanInputs } from "../../model/selective_scan_ref.ts";
import { dgcmLoss } from "../../train/losses.ts";
import { dgcmTargets } from "../../train/dgcm.ts";

/** Error of one compared array. */
export interface Compared {
  /** what was compared (e.g. `scan.dA`, `model.grad.levels.0…`). */
  name: string;
  /** elements. */
  size: number;
  /** ‖a − b‖₂ / ‖b‖₂ (0 when both are all zero). */
  relL2: number;
  /** max |a − b| / max |b|. */
  relMax: number;
  /** elements that are NaN or infinite in `a` but not in `b`. */
  nonFinite: number;
}

/** Compares `a` (tested) with `b` (reference). */
export function compare(
  name: string,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): Compared {
  if (a.length !== b.length) {
    throw new Error(`compare ${name}: ${a.length} vs ${b.length} elements`);
  }
  let num2 = 0, den2 = 0, numMax = 0, denMax = 0, nonFinite = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]) && Number.isFinite(b[i])) {
      nonFinite++;
      continue;
    }
    const d = a[i] - b[i];
    num2 += d * d;
    den2 += b[i] * b[i];
    numMax = Math.max(numMax, Math.abs(d));
    denMax = Math.max(denMax, Math.abs(b[i]));
  }
  return {
    name,
    size: a.length,
    relL2: den2 > 0 ? Math.sqrt(num2 / den2) : Math.sqrt(num2),
    relMax: denMax > 0 ? numMax / denMax : numMax,
    nonFinite,
  };
}

/** Seeded float32 values uniform in [lo, hi). */
function uniform(
  rng: StreamRng,
  n: number,
  lo: number,
  hi: number,
): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng.next();
  return out;
}

/** Sizes of the scan check: `batch` sequences of `length` tokens, `dim` channels, `state` states. */
export interface ScanDims {
  /** sequences (windows × images). */
  batch: number;
  /** tokens per sequence (49 for 7×7 windows). */
  length: number;
  /** channels. */
  dim: number;
  /** SSM state size. */
  state: number;
}

/**
 * The fused scan's forward and gradients (of Σ y·w, w a fixed random
 * weight) on the active backend, as named arrays.
 */
async function scanOutputs(
  d: ScanDims,
  seed: number,
): Promise<Record<string, Float32Array>> {
  const rng = new StreamRng(seed);
  const { batch: b, length: l, dim, state: n } = d;
  const u = uniform(rng, b * l * dim, -1, 1);
  const delta = uniform(rng, b * l * dim, -2, 2);
  const a = uniform(rng, dim * n, -1.5, 1.5).map((z) => -Math.exp(z));
  const bb = uniform(rng, b * l * n, -1, 1);
  const cc = uniform(rng, b * l * n, -1, 1);
  const dd = uniform(rng, dim, -1, 1);
  const bias = uniform(rng, dim, -1, 1);
  const w = uniform(rng, b * l * dim, -1, 1);
  const x: ScanInputs = {
    u: tf.tensor3d(u, [b, l, dim]),
    delta: tf.tensor3d(delta, [b, l, dim]),
    A: tf.tensor2d(a, [dim, n]),
    B: tf.tensor3d(bb, [b, l, n]),
    C: tf.tensor3d(cc, [b, l, n]),
    D: tf.tensor1d(dd),
    deltaBias: tf.tensor1d(bias),
  };
  const wt = tf.tensor3d(w, [b, l, dim]);
  const names = ["u", "delta", "A", "B", "C", "D", "deltaBias"] as const;
  const y = selectiveScan(x, true);
  const grads = tf.grads((...args: tf.Tensor[]) => {
    const named = {} as Record<string, tf.Tensor>;
    names.forEach((k, i) => named[k] = args[i]);
    return tf.sum(
      tf.mul(selectiveScan(named as unknown as ScanInputs, true), wt),
    );
  })(names.map((k) => x[k]));
  const out: Record<string, Float32Array> = {
    "scan.y": await y.data() as Float32Array,
  };
  for (let i = 0; i < names.length; i++) {
    out[`scan.d${names[i]}`] = await grads[i].data() as Float32Array;
  }
  tf.dispose([y, wt, ...grads, ...Object.values(x)]);
  return out;
}

/**
 * A model's logits, DGCM loss and parameter gradients for one seeded batch
 * (inference-mode forward: no dropout, so both backends compute the same
 * function), as named arrays.
 */
async function modelOutputs(
  config: ModelConfig,
  batch: number,
  seed: number,
): Promise<Record<string, Float32Array>> {
  const model = buildModel(config, seed);
  const size = config.inputSize as number;
  const rng = new StreamRng(seed + 1);
  const x = tf.tensor4d(
    uniform(rng, batch * size * size * config.inChannels, -1, 1),
    [batch, size, size, config.inChannels],
  );
  const t = Array.from({ length: batch }, (_, i) => (i * 3 + seed) % 7).map(
    dgcmTargets,
  );
  const out: Record<string, Float32Array> = {};
  const { value, grads } = tf.variableGrads(() => {
    const o = model.apply(x, { training: false });
    const loss = dgcmLoss(
      o.coarse!,
      o.fine!,
      t.map((z) => z.coarse),
      t.map((z) => z.fine),
      1,
    );
    return loss as tf.Scalar;
  }, [...model.params.values()]);
  const logits = model.apply(x, { training: false });
  out["model.logits.coarse"] = await logits.coarse!.data() as Float32Array;
  out["model.logits.fine"] = await logits.fine!.data() as Float32Array;
  out["model.loss"] = await value.data() as Float32Array;
  for (const [name, p] of model.params) {
    out[`model.grad.${name}`] = await grads[p.name].data() as Float32Array;
  }
  tf.dispose([x, value, ...Object.values(grads)]);
  tf.dispose(Object.values(logits).filter((v) => v instanceof tf.Tensor));
  model.dispose();
  return out;
}

/** Result of {@link checkBackend}. */
export interface CorrectnessResult {
  /** backend tested and reference backend. */
  test: string;
  /** the reference. */
  reference: string;
  /** scan sizes. */
  scan: ScanDims;
  /** model batch. */
  modelBatch: number;
  /** model input size. */
  modelSize: number;
  /** every compared array. */
  compared: Compared[];
  /** the worst relL2 among the scan's arrays, and among the model's. */
  worst: { scan: Compared; model: Compared; modelGrads: Compared };
  /** whether every relL2 is ≤ `tolerance` and nothing is non-finite. */
  pass: boolean;
  /** the tolerance used. */
  tolerance: number;
}

/**
 * Runs the scan and the model on `reference`, then on `test`, and compares.
 * The model config should be small (the reference is TensorFlow.js' plain
 * JavaScript cpu backend).
 */
export async function checkBackend(o: {
  test: BackendName;
  reference: BackendName;
  scan: ScanDims;
  model: ModelConfig;
  modelBatch: number;
  seed: number;
  tolerance?: number;
}): Promise<CorrectnessResult> {
  const tolerance = o.tolerance ?? 1e-3;
  const run = async (backend: BackendName) => {
    await initBackend(backend);
    return {
      ...(await scanOutputs(o.scan, o.seed)),
      ...(await modelOutputs(o.model, o.modelBatch, o.seed)),
    };
  };
  const ref = await run(o.reference);
  const got = await run(o.test);
  const compared = Object.keys(ref).map((k) => compare(k, got[k], ref[k]));
  const worstOf = (pred: (c: Compared) => boolean) =>
    compared.filter(pred).reduce((a, b) => (b.relL2 > a.relL2 ? b : a));
  return {
    test: o.test,
    reference: o.reference,
    scan: o.scan,
    modelBatch: o.modelBatch,
    modelSize: o.model.inputSize as number,
    compared,
    worst: {
      scan: worstOf((c) => c.name.startsWith("scan.")),
      model: worstOf((c) => c.name.startsWith("model.")),
      modelGrads: worstOf((c) => c.name.startsWith("model.grad.")),
    },
    pass: compared.every((c) =>
      c.nonFinite === 0 && !(c.relL2 > tolerance) && Number.isFinite(c.relL2)
    ),
    tolerance,
  };
}
