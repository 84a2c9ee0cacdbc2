/**
 * Small, real stand-ins for tests of both DSL sides: a tiny convolutional
 * {@linkcode MerModel} (conv3×3 → BatchNorm → ReLU → global average pool →
 * dropout → linear or DGCM heads) and a tiny, learnable {@linkcode FlowDataset}.
 *
 * They implement the model library's contract (NHWC input, named
 * parameters and BatchNorm buffers, seeded training-mode passes) with a few
 * hundred weights, so training tests finish in seconds on the cpu backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type {
  ForwardOptions,
  MerModel,
  ModelConfig,
  ModelOutput,
} from "../model/types.ts";
import type { FlowDataset, FlowSample } from "../data/types.ts";
import { Rng } from "./rng.ts";

/**
 * A model configuration for {@linkcode buildTinyModel}: the stand-in reads
 * `inputSize`, `inChannels`, `stemDim` (conv width), `head`, `numClasses`
 * and `dropout`; the other fields are MERba's and are ignored.
 *
 * @param overrides fields to change.
 */
export function tinyModelConfig(
  overrides: Partial<ModelConfig> = {},
): ModelConfig {
  return {
    family: "merba",
    inputSize: 8,
    inChannels: 2,
    stemDim: 6,
    dims: [8, 8, 8, 8],
    depths: [1, 1, 1, 1],
    attentionDepths: [0, 1, 1, 1],
    heads: [1, 1, 1, 1],
    windowSize: 2,
    convStages: 1,
    mlpRatio: 2,
    scans: ["h", "v", "hz", "vz"],
    extractor: "local",
    attention: "global",
    head: "linear",
    numClasses: 3,
    dropout: 0.1,
    dropPath: 0,
    layerScale: null,
    mixer: { dState: 2, dConv: 3, expand: 1, dtBiasTwice: true },
    ...overrides,
  };
}

function variableFrom(
  values: Float32Array,
  shape: number[],
  trainable: boolean,
  dtype: "float32" | "int32" = "float32",
): tf.Variable {
  return tf.tidy(() =>
    tf.variable(
      dtype === "int32"
        ? tf.tensor(Int32Array.from(values), shape, "int32")
        : tf.tensor(values, shape),
      trainable,
    )
  );
}

function normalValues(rng: Rng, size: number, std: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal() * std;
  return out;
}

const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1;

/**
 * Builds the tiny stand-in model with weights drawn from `seed`.
 *
 * Parameters (state-dict style names, tfjs layouts): `stem.weight`
 * [3,3,in,C], `stem.bias` [C], `bn.weight`/`bn.bias` [C], and either
 * `head.weight` [C,K] / `head.bias` [K] or `head.coarse.*` and `head.fine.*`
 * (4 outputs each) for `head: "dgcm"`. Buffers: `bn.running_mean`,
 * `bn.running_var`, `bn.num_batches_tracked`, updated in training passes
 * with PyTorch's momentum 0.1 and unbiased running variance.
 *
 * @param config the configuration (see {@linkcode tinyModelConfig}).
 * @param seed initialisation seed.
 */
export function buildTinyModel(config: ModelConfig, seed: number): MerModel {
  const [h, w] = typeof config.inputSize === "number"
    ? [config.inputSize, config.inputSize]
    : config.inputSize;
  const cin = config.inChannels;
  const c = config.stemDim;
  const rng = new Rng(seed);
  const params = new Map<string, tf.Variable>();
  const buffers = new Map<string, tf.Variable>();
  const zeros = (n: number) => new Float32Array(n);
  params.set(
    "stem.weight",
    variableFrom(
      normalValues(rng, 9 * cin * c, Math.sqrt(2 / (9 * cin))),
      [3, 3, cin, c],
      true,
    ),
  );
  params.set("stem.bias", variableFrom(zeros(c), [c], true));
  params.set("bn.weight", variableFrom(new Float32Array(c).fill(1), [c], true));
  params.set("bn.bias", variableFrom(zeros(c), [c], true));
  const heads: [string, number][] = config.head === "dgcm"
    ? [["head.coarse", 4], ["head.fine", 4]]
    : [["head", config.numClasses]];
  for (const [name, k] of heads) {
    params.set(
      `${name}.weight`,
      variableFrom(normalValues(rng, c * k, Math.sqrt(1 / c)), [c, k], true),
    );
    params.set(`${name}.bias`, variableFrom(zeros(k), [k], true));
  }
  buffers.set("bn.running_mean", variableFrom(zeros(c), [c], false));
  buffers.set(
    "bn.running_var",
    variableFrom(new Float32Array(c).fill(1), [c], false),
  );
  buffers.set(
    "bn.num_batches_tracked",
    variableFrom(zeros(1), [], false, "int32"),
  );
  const p = (name: string) => params.get(name)!;
  const b = (name: string) => buffers.get(name)!;

  function apply(x: tf.Tensor4D, options: ForwardOptions): ModelOutput {
    if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w) {
      throw new Error(
        `tiny model: input must be [B,${h},${w},${cin}], got [${x.shape}]`,
      );
    }
    if (x.shape[3] !== cin) {
      throw new Error(
        `tiny model: input has ${
          x.shape[3]
        } channels, config.inChannels is ${cin}`,
      );
    }
    if (options.training && !options.seed) {
      throw new Error("tiny model: a training pass needs options.seed");
    }
    const conv = tf.conv2d(x, p("stem.weight") as tf.Tensor4D, 1, "same")
      .add(p("stem.bias"));
    let normed: tf.Tensor;
    if (options.training) {
      const mean = conv.mean([0, 1, 2]);
      const centered = conv.sub(mean);
      const variance = centered.square().mean([0, 1, 2]);
      normed = centered.div(variance.add(BN_EPS).sqrt());
      const n = conv.size / c;
      tf.tidy(() => {
        const unbiased = variance.mul(n / Math.max(1, n - 1));
        b("bn.running_mean").assign(
          b("bn.running_mean").mul(1 - BN_MOMENTUM).add(
            mean.mul(BN_MOMENTUM),
          ),
        );
        b("bn.running_var").assign(
          b("bn.running_var").mul(1 - BN_MOMENTUM).add(
            unbiased.mul(BN_MOMENTUM),
          ),
        );
        b("bn.num_batches_tracked").assign(
          b("bn.num_batches_tracked").add(tf.scalar(1, "int32")),
        );
      });
    } else {
      normed = conv.sub(b("bn.running_mean")).div(
        b("bn.running_var").add(BN_EPS).sqrt(),
      );
    }
    const act = normed.mul(p("bn.weight")).add(p("bn.bias"))
      .relu() as tf.Tensor4D;
    let pooled = act.mean([1, 2]) as tf.Tensor2D;
    if (options.training && config.dropout > 0) {
      pooled = tf.dropout(
        pooled,
        config.dropout,
        undefined,
        options.seed,
      ) as tf.Tensor2D;
    }
    const linear = (name: string) =>
      pooled.matMul(p(`${name}.weight`) as tf.Tensor2D).add(
        p(`${name}.bias`),
      ) as tf.Tensor2D;
    const out: ModelOutput = config.head === "dgcm"
      ? { coarse: linear("head.coarse"), fine: linear("head.fine") }
      : { logits: linear("head") };
    if (options.features) out.features = [act];
    return out;
  }

  return {
    config,
    params,
    buffers,
    apply,
    numParams: () => [...params.values()].reduce((s, v) => s + v.size, 0),
    dispose: () => {
      params.forEach((v) => v.dispose());
      buffers.forEach((v) => v.dispose());
    },
  };
}

/** Options of {@linkcode tinyFlowDataset}. */
export interface TinyDatasetOptions {
  /** class names (default: the 3 MEGC composite classes). */
  classes?: readonly string[];
  /** samples per class (default 4). */
  perClass?: number;
  /** square flow size (default 8). */
  size?: number;
  /** 2 (u, v) or 3 (u, v, strain) (default 2). */
  channels?: number;
  /** subjects, assigned round-robin (default 4). */
  subjects?: number;
  /** noise standard deviation (default 0.3). */
  noise?: number;
  /** generator seed (default 1). */
  seed?: number;
}

/**
 * A tiny synthetic flow dataset whose classes are learnable and invariant
 * under the horizontal-flip augmentation: class k has a vertical motion
 * amplitude and a horizontal expansion/contraction (u odd in x) that grow
 * with k, inside a centred Gaussian bump, plus seeded noise. Samples are
 * interleaved by class (sample i has class i mod K); subject of sample i is
 * `tiny/s{i mod subjects}`.
 *
 * @param options sizes, classes, noise and seed.
 */
export function tinyFlowDataset(options: TinyDatasetOptions = {}): FlowDataset {
  const classes = options.classes ?? ["negative", "positive", "surprise"];
  const perClass = options.perClass ?? 4;
  const size = options.size ?? 8;
  const channels = options.channels ?? 2;
  const subjects = options.subjects ?? 4;
  const noise = options.noise ?? 0.3;
  const rng = new Rng(options.seed ?? 1);
  const k = classes.length;
  const samples: FlowSample[] = [];
  const centre = (size - 1) / 2;
  for (let i = 0; i < perClass * k; i++) {
    const cls = i % k;
    const amp = k === 1 ? 1 : -1.5 + 3 * cls / (k - 1);
    const data = new Float32Array(size * size * channels);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const dx = (x - centre) / size, dy = (y - centre) / size;
        const bump = Math.exp(-(dx * dx + dy * dy) * 8);
        const o = (y * size + x) * channels;
        data[o] = amp * dx * 2 * bump + noise * rng.normal();
        data[o + 1] = amp * bump + noise * rng.normal();
        if (channels > 2) data[o + 2] = Math.abs(amp) * bump * 0.5;
      }
    }
    samples.push({
      id: `tiny/${i}`,
      subject: `tiny/s${i % subjects}`,
      source: "synthetic-tiny",
      label: classes[cls],
      height: size,
      width: size,
      channels,
      data,
    });
  }
  return {
    name: "synthetic-tiny",
    classes,
    samples,
    description:
      `tiny synthetic flows (${k} classes × ${perClass}, ${size}×${size}×${channels})`,
  };
}

/**
 * Runs `fn` with a fresh temporary folder, removed afterwards (also when
 * `fn` throws).
 *
 * @param fn what to do in the folder.
 */
export async function inTempDir(
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
