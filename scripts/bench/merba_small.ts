/**
 * The MERba-small benchmark workload shared by `cpu_bench.ts` and its
 * per-backend worker `cpu_worker.ts`: the model configuration, a seeded
 * input batch, and the training step (forward, DGCM loss,
 * `tf.variableGrads`, AdamW — as `train/train.ts` runs it) and eval forward,
 * each returning wall and process CPU milliseconds.
 *
 * @module
 */
import process from "node:process";
import * as tf from "@tensorflow/tfjs";
import {
  buildModel,
  merbaBase,
  type MerModel,
  type ModelConfig,
  validateModelConfig,
} from "../../model/mod.ts";
import { AdamW } from "../../train/optim.ts";
import { dgcmLoss } from "../../train/losses.ts";

/** Wall and process CPU milliseconds of one call. */
export interface Timing {
  /** wall clock. */
  ms: number;
  /** user + system time of the process, all threads. */
  cpu: number;
}

/**
 * MERba-small: merbaBase with dims 32…256 at `size`×`size`×2, no dropout.
 *
 * @param size input height and width.
 * @returns the validated configuration.
 */
export function merbaSmallConfig(size: number): ModelConfig {
  const config = merbaBase({
    inputSize: size,
    dims: [32, 64, 128, 256],
    heads: [1, 2, 4, 8],
    stemDim: 16,
    windowSize: [7, 7, 7, 4],
    dropPath: 0,
    dropout: 0,
  });
  validateModelConfig(config);
  return config;
}

/** Process CPU time (user + system, all threads) in ms. */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The model, its input and the two timed calls. */
export interface Workload {
  /** the model (on the active backend). */
  model: MerModel;
  /** one training step. */
  trainStep(): Promise<Timing>;
  /** one eval-mode forward. */
  forward(): Promise<Timing>;
}

/**
 * Builds the workload on the active backend (seeded: the same weights and
 * input everywhere).
 *
 * @param config the model configuration.
 * @param batch the batch size.
 * @returns the workload.
 */
export function merbaSmallWorkload(
  config: ModelConfig,
  batch: number,
): Workload {
  const size = config.inputSize as number;
  const model = buildModel(config, 1);
  const x = tf.randomUniform(
    [batch, size, size, config.inChannels],
    -1,
    1,
    "float32",
    7,
  ) as tf.Tensor4D;
  const coarseT = Array.from({ length: batch }, (_, i) => i % 4);
  const fineT = coarseT.map((c, i) => (c === 0 ? i % 4 : null));
  const optimizer = new AdamW(model.params, {
    lr: 1e-4,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0.05,
  });
  const keyOf = new Map([...model.params].map(([k, v]) => [v.name, k]));
  const varList = [...model.params.values()];
  let dropSeed = 0;
  return {
    model,
    async trainStep() {
      const t = performance.now(), c = cpuNow();
      const { value, grads } = tf.variableGrads(() => {
        const out = model.apply(x, { training: true, seed: ++dropSeed });
        return dgcmLoss(out.coarse!, out.fine!, coarseT, fineT, 0.5);
      }, varList);
      const named = new Map<string, tf.Tensor>();
      for (const [n, g] of Object.entries(grads)) named.set(keyOf.get(n)!, g);
      optimizer.step(named);
      const loss = (await value.data())[0];
      tf.dispose([value, ...Object.values(grads)]);
      if (!Number.isFinite(loss)) throw new Error(`loss became ${loss}`);
      return { ms: performance.now() - t, cpu: cpuNow() - c };
    },
    async forward() {
      const t = performance.now(), c = cpuNow();
      const out = model.apply(x, { training: false });
      await out.coarse!.data();
      tf.dispose([out.coarse!, out.fine!]);
      return { ms: performance.now() - t, cpu: cpuNow() - c };
    },
  };
}

/**
 * GFLOP/s of an n×n×n float32 matmul on the active backend (median of 3
 * after a warm-up): the machine's peak as the backend reaches it.
 *
 * @param n the matrix size.
 * @returns GFLOP/s.
 */
export async function sgemmGflops(n: number): Promise<number> {
  const a = tf.randomUniform([n, n], -1, 1, "float32", 1);
  const b = tf.randomUniform([n, n], -1, 1, "float32", 2);
  const once = async () => {
    const t = performance.now();
    const c = tf.matMul(a, b);
    await c.data();
    const ms = performance.now() - t;
    c.dispose();
    return ms;
  };
  await once();
  const ms = [await once(), await once(), await once()].sort((p, q) => p - q);
  tf.dispose([a, b]);
  return (2 * n ** 3) / (ms[1] * 1e6);
}

/**
 * The lines of a text stream, as they arrive.
 *
 * @param stream bytes.
 * @returns an async iterator of lines (without the newline).
 */
export async function* lineReader(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, i);
      buf = buf.slice(i + 1);
    }
  }
}
