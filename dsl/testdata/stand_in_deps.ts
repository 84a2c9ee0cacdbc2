/**
 * Small stand-in dependencies for the interpreter's tests (and for the
 * workers, which import this module by URL): the engine's tiny model and
 * dataset of `train/testing.ts`, the real `computeMetrics`, a seeded SGD
 * trainer, a JSON-only report writer, and a tiny "model library" whose
 * validator checks the window tiling like the real one.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import { join } from "node:path";
import type {
  DatasetRequest,
  FlowDataset,
  FlowSample,
} from "../../data/types.ts";
import type { ModelConfig } from "../../model/types.ts";
import { CLASSES_3 } from "../../data/types.ts";
import type {
  EpochRecord,
  Prediction,
  TrainInput,
  TrainResult,
} from "../../train/types.ts";
import type { ReportInput } from "../report/types.ts";
import type { DatasetKnowledge, Deps } from "../deps.ts";
import { computeMetrics } from "../../train/metrics.ts";
import { Rng } from "../../train/rng.ts";
import {
  buildTinyModel,
  tinyFlowDataset,
  tinyModelConfig,
} from "../../train/testing.ts";

/** An error naming a config field, like the model library's ModelConfigError. */
export class StandInConfigError extends Error {
  /** the offending field. */
  readonly field: string;
  /** @param field the field. @param message what is wrong. */
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

function validate(config: ModelConfig): void {
  const size = typeof config.inputSize === "number"
    ? config.inputSize
    : config.inputSize[0];
  const map = size / 4;
  const w = typeof config.windowSize === "number"
    ? config.windowSize
    : config.windowSize[1];
  if (!Number.isInteger(map) || map % w !== 0) {
    throw new StandInConfigError(
      "windowSize",
      `expected a window that tiles ${map}×${map}, got ${w}`,
    );
  }
  if (config.head === "dgcm" && config.numClasses !== 7) {
    throw new StandInConfigError("head", "dgcm needs the 7 emotions");
  }
}

function batchTensor(samples: FlowSample[]): tf.Tensor4D {
  const s0 = samples[0];
  const data = new Float32Array(samples.length * s0.data.length);
  samples.forEach((s, i) => data.set(s.data, i * s0.data.length));
  return tf.tensor4d(data, [samples.length, s0.height, s0.width, s0.channels]);
}

/** A seeded SGD trainer over the tiny model (cross-entropy, linear head). */
export async function standInTrain(input: TrainInput): Promise<TrainResult> {
  const model = input.buildModel(input.modelConfig, input.seeds.init);
  const order = new Rng(input.seeds.order);
  const drop = new Rng(input.seeds.dropout);
  const opt = tf.train.sgd(input.recipe.optimizer.lr);
  const labelOf = (s: FlowSample) => input.classes.indexOf(s.label);
  const n = input.train.length;
  const bs = input.recipe.batchSize;
  const stepsPerEpoch = Math.ceil(n / bs);
  const total = stepsPerEpoch * input.recipe.epochs;
  const epochs: EpochRecord[] = [];
  let step = 0;
  const vars = [...model.params.values()];
  for (let epoch = 0; epoch < input.recipe.epochs; epoch++) {
    const perm = order.permutation(n);
    let lossSum = 0;
    for (let b = 0; b < n; b += bs) {
      if (input.signal?.aborted) {
        model.dispose();
        throw input.signal.reason ?? new Error("aborted");
      }
      const batch = perm.slice(b, b + bs).map((i) => input.train[i]);
      const x = batchTensor(batch);
      const y = tf.oneHot(
        tf.tensor1d(batch.map(labelOf), "int32"),
        input.classes.length,
      );
      const seed = drop.seed();
      const loss = opt.minimize(
        () => {
          const out = model.apply(x, { training: true, seed });
          return tf.losses.softmaxCrossEntropy(y, out.logits!) as tf.Scalar;
        },
        true,
        vars,
      )!;
      lossSum += (await loss.data())[0];
      tf.dispose([x, y, loss]);
      input.onStep?.(++step, total);
      await new Promise((r) => setTimeout(r, 0));
    }
    const record: EpochRecord = {
      epoch,
      trainLoss: lossSum / stepsPerEpoch,
      lr: input.recipe.optimizer.lr,
      seconds: 0,
    };
    epochs.push(record);
    input.onEpoch?.(record);
  }
  const predictions: Prediction[] = [];
  for (const [split, samples] of Object.entries(input.tests)) {
    const x = batchTensor(samples);
    const logits = model.apply(x, { training: false }).logits!;
    const pred = Array.from(await logits.argMax(1).data());
    tf.dispose([x, logits]);
    samples.forEach((s, i) =>
      predictions.push({
        id: s.id,
        subject: s.subject,
        source: s.source,
        split,
        label: labelOf(s),
        pred: pred[i],
      })
    );
  }
  opt.dispose();
  return {
    model,
    epochs,
    bestEpoch: epochs.length - 1,
    stoppedEarly: false,
    predictions,
  };
}

/** Writes `report.json`: every row's per-seed metrics. */
export async function standInWriteReport(
  input: ReportInput,
  outDir: string,
): Promise<string[]> {
  await Deno.mkdir(outDir, { recursive: true });
  const rows = input.rows.map((r) => ({
    variant: r.variant,
    group: r.group,
    paper: r.paper,
    seeds: r.predictionsBySeed.map((p) =>
      computeMetrics(p.map((q) => q.label), p.map((q) => q.pred), input.classes)
    ),
  }));
  const path = join(outDir, "report.json");
  await Deno.writeTextFile(
    path,
    JSON.stringify(
      { name: input.name, description: input.description, rows },
      null,
      2,
    ),
  );
  return [path];
}

/** Tiny dataset: `options` are `TinyDatasetOptions`; two sources and a fixed split are derived from the subject. */
export function standInDataset(req: DatasetRequest): Promise<FlowDataset> {
  const ds = tinyFlowDataset({ ...(req.options ?? {}), size: req.imageSize });
  ds.samples.forEach((s) => {
    const k = Number(s.subject.split("s").pop());
    s.source = k % 2 === 0 ? "even" : "odd";
    s.split = k === 0 ? "testA" : k === 1 ? "testB" : "train";
  });
  return Promise.resolve(ds);
}

/**
 * What the stand-in data layer knows without loading: the real corpus
 * names are corpora (read from a root folder, which the stand-in loader
 * then ignores), everything else synthetic; the classes are those of the
 * tiny dataset the stand-in loader returns for every name.
 */
export function standInDatasetInfo(name: string): DatasetKnowledge {
  const corpus = ["dfme", "megc2019", "casme2", "samm", "smic"].includes(name);
  return {
    kind: corpus ? "corpus" : "synthetic",
    classes: CLASSES_3,
    description: `stand-in ${name}`,
  };
}

/** The stand-in dependencies. */
export const deps: Deps = {
  merbaBase: (o = {}) =>
    tinyModelConfig({ head: "linear", windowSize: 2, ...o }),
  mambaVisionB: (o = {}) =>
    tinyModelConfig({
      family: "mambavision",
      head: "linear",
      windowSize: 2,
      ...o,
    }),
  validateModelConfig: validate,
  countParams: (config) => {
    const m = buildTinyModel(config, 1);
    const n = m.numParams();
    m.dispose();
    return n;
  },
  buildModel: buildTinyModel,
  loadFlowDataset: standInDataset,
  datasetInfo: standInDatasetInfo,
  initBackend: async (name) => {
    if (name !== "cpu") {
      throw new Error(`stand-in deps run on cpu only, got ${name}`);
    }
    await tf.setBackend("cpu");
    await tf.ready();
    return name;
  },
  train: standInTrain,
  computeMetrics,
  writeReport: standInWriteReport,
};
