/**
 * The training loop of one job: model from `seeds.init`, AdamW with a
 * per-step learning rate, seeded batch order / flips / dropout, CE or DGCM
 * loss, early stopping on validation, and predictions on every test split.
 *
 * Determinism: the job's four seeds each own one {@linkcode Rng} stream —
 * `init` goes to `buildModel`, `order` draws each epoch's permutation,
 * `augment` draws one flip decision per training sample per step, `dropout`
 * draws the `ForwardOptions.seed` of every training pass. Nothing else is
 * random, so the same input on the same backend gives bit-identical losses,
 * weights and predictions.
 *
 * Per epoch: the order stream's permutation is cut into batches (see
 * `batches.ts` for the last partial batch); each step sets the learning rate
 * of that global step ({@linkcode learningRateAt}), flips, runs a training
 * pass inside `tf.variableGrads` over `model.params`, applies AdamW, reads
 * the loss, calls `onStep` and yields to the event loop (so progress bars
 * redraw and an `AbortSignal` can fire).
 *
 * Micro-batching (`recipe.microBatchSize`): a step's batch runs as chunks of
 * at most that many samples ({@linkcode microBatches}); their gradients are
 * accumulated weighted by chunk size ({@linkcode accumulatedGradients}),
 * then one AdamW step is taken — the full-batch mean-loss gradient for a
 * model without batch statistics. BatchNorm's batch statistics (and
 * running-stat updates) are per micro-batch; the first chunk uses the
 * step's dropout seed and chunk k a fixed function of it and k. With
 * `microBatchSize ≥ batchSize` training is bit-identical to none.
 *
 * Memory (what lets paper-scale MERba, 111M parameters at 224×224, train on
 * the wasm backend's 4 GiB heap): `recipe.checkpoint` passes
 * `ForwardOptions.checkpoint` to every training pass (token blocks
 * recomputed in the backward pass; bit-identical here); each micro-batch's
 * gradients are added into the running sums one variable at a time and
 * freed at once; AdamW updates one parameter at a time inside its own tidy
 * and frees each gradient as soon as it is applied, so no whole-model
 * temporaries exist beside the parameters, the moments and one gradient
 * copy; on the wasm backend AdamW keeps its moments in JavaScript
 * `Float32Array`s (`moments: "host"`, bit-identical to on-device moments)
 * and so are the gradient sums of a micro-batched step
 * ({@linkcode accumulatedGradientsOnHost}). The `signal` is checked before
 * every step; when it has fired the model is released and `train` rejects
 * with the signal's reason.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { MerModel } from "../model/types.ts";
import type { FlowSample } from "../data/types.ts";
import { EMOTIONS_7 } from "../data/types.ts";
import { dgcmDecision, dgcmTargets } from "./dgcm.ts";
import type {
  EpochRecord,
  MetricName,
  Prediction,
  TrainInput,
  TrainResult,
} from "./types.ts";
import { Rng } from "./rng.ts";
import { AdamW } from "./optim.ts";
import { alphaAt, learningRateAt } from "./schedule.ts";
import { crossEntropy, dgcmLoss } from "./losses.ts";
import { drawFlips, hflipFlow } from "./augment.ts";
import {
  checkSamples,
  epochOrder,
  labelIndices,
  splitBatches,
  stackBatch,
} from "./batches.ts";
import { computeMetrics } from "./metrics.ts";

/** Options of {@linkcode evaluate}. */
export interface EvaluateOptions {
  /** samples per forward pass. */
  batchSize: number;
  /** DGCM: the α of the loss reported (default 1). */
  alpha?: number;
  /**
   * run with `ForwardOptions.checkpoint` (default false): in inference each
   * token block's intermediates are freed as soon as the block ends; same
   * predictions and loss.
   */
  checkpoint?: boolean;
}

/** Predictions and mean loss of a model on a set of samples. */
export interface Evaluation {
  /** predicted class index per sample, in sample order. */
  pred: Int32Array;
  /** true class index per sample. */
  truth: Int32Array;
  /**
   * the training objective in inference mode (CE, or the DGCM loss at the
   * given α), averaged over batches weighted by their size.
   */
  loss: number;
}

function isDgcm(model: MerModel): boolean {
  return model.config.head === "dgcm";
}

function dgcmTargetArrays(labels: Int32Array) {
  const coarse: number[] = [];
  const fine: (number | null)[] = [];
  for (const l of labels) {
    const t = dgcmTargets(l);
    coarse.push(t.coarse);
    fine.push(t.fine);
  }
  return { coarse, fine };
}

function batchLoss(
  out: ReturnType<MerModel["apply"]>,
  labels: Int32Array,
  batch: readonly number[],
  dgcm: boolean,
  alpha: number,
): tf.Scalar {
  const targets = batch.map((i) => labels[i]);
  if (dgcm) {
    if (!out.coarse || !out.fine) {
      throw new Error("train: a DGCM model must return coarse and fine logits");
    }
    const t = dgcmTargetArrays(Int32Array.from(targets));
    return dgcmLoss(out.coarse, out.fine, t.coarse, t.fine, alpha);
  }
  if (!out.logits) {
    throw new Error("train: a linear-head model must return logits");
  }
  return crossEntropy(out.logits, targets);
}

/**
 * Runs a model in inference mode over samples in consecutive batches and
 * returns its predictions (DGCM: through `dgcmDecision`, indices into
 * EMOTIONS_7) and mean loss.
 *
 * @param model the model.
 * @param samples the samples; their labels must be in `classes`.
 * @param classes the dataset classes.
 * @param options batch size and DGCM α.
 */
export async function evaluate(
  model: MerModel,
  samples: readonly FlowSample[],
  classes: readonly string[],
  options: EvaluateOptions,
): Promise<Evaluation> {
  const truth = labelIndices(samples, classes, "evaluation");
  const pred = new Int32Array(samples.length);
  const dgcm = isDgcm(model);
  const alpha = options.alpha ?? 1;
  let lossSum = 0;
  const order = Array.from({ length: samples.length }, (_, i) => i);
  for (const batch of splitBatches(order, options.batchSize, false)) {
    const [p, l] = tf.tidy(() => {
      const x = stackBatch(samples, batch);
      const out = model.apply(x, {
        training: false,
        checkpoint: options.checkpoint ?? false,
      });
      const loss = batchLoss(out, truth, batch, dgcm, alpha);
      const predicted = dgcm
        ? dgcmDecision(out.coarse!, out.fine!)
        : tf.argMax(out.logits!, 1);
      return [predicted, loss];
    });
    const [pv, lv] = await Promise.all([p.data(), l.data()]);
    tf.dispose([p, l]);
    pred.set(Int32Array.from(pv), batch[0]);
    lossSum += lv[0] * batch.length;
  }
  return { pred, truth, loss: lossSum / Math.max(1, samples.length) };
}

function positiveInt(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${field} must be an integer ≥ 1, got ${value}`);
  }
}

function validate(input: TrainInput): void {
  const { recipe, modelConfig: cfg, classes } = input;
  positiveInt(recipe.epochs, "recipe.epochs");
  positiveInt(recipe.batchSize, "recipe.batchSize");
  positiveInt(recipe.evalBatchSize, "recipe.evalBatchSize");
  if (recipe.microBatchSize !== undefined) {
    positiveInt(recipe.microBatchSize, "recipe.microBatchSize");
  }
  if (cfg.head === "dgcm") {
    const ok = classes.length === EMOTIONS_7.length &&
      classes.every((c, i) => c === EMOTIONS_7[i]);
    if (!ok) {
      throw new Error(
        `modelConfig.head is "dgcm", which needs the 7 classes [${
          EMOTIONS_7.join(", ")
        }] in that order; the dataset has [${classes.join(", ")}]`,
      );
    }
  } else if (cfg.numClasses !== classes.length) {
    throw new Error(
      `modelConfig.numClasses is ${cfg.numClasses} but the dataset has ${classes.length} classes [${
        classes.join(", ")
      }]`,
    );
  }
  if (input.train.length === 0) throw new Error("train: no training samples");
  const [height, width] = typeof cfg.inputSize === "number"
    ? [cfg.inputSize, cfg.inputSize]
    : cfg.inputSize;
  const shape = { height, width, channels: cfg.inChannels };
  checkSamples(input.train, shape, "train");
  if (input.validation) checkSamples(input.validation, shape, "validation");
  for (const [name, samples] of Object.entries(input.tests)) {
    checkSamples(samples, shape, `test split "${name}"`);
    labelIndices(samples, classes, `test split "${name}"`);
  }
  // optimizer, schedule, α and flip settings fail here, before any model
  // is built
  new AdamW(new Map(), recipe.optimizer).dispose();
  learningRateAt(0, 1, recipe.epochs, recipe.optimizer, recipe.schedule);
  if (cfg.head === "dgcm") alphaAt(0, recipe.epochs, recipe.alpha);
  drawFlips(0, recipe.augment.hflip, new Rng(1));
  const es = recipe.earlyStopping;
  if (es) {
    if (!input.validation || input.validation.length === 0) {
      throw new Error(
        "recipe.earlyStopping is set but there is no validation data (validation is null or empty)",
      );
    }
    if (!Number.isInteger(es.patience) || es.patience < 0) {
      throw new RangeError(
        `earlyStopping.patience must be an integer ≥ 0, got ${es.patience}`,
      );
    }
    if (!(Number.isFinite(es.minDelta) && es.minDelta >= 0)) {
      throw new RangeError(
        `earlyStopping.minDelta must be ≥ 0, got ${es.minDelta}`,
      );
    }
    if (!["loss", "uf1", "uar", "acc"].includes(es.monitor)) {
      throw new RangeError(
        `earlyStopping.monitor must be loss|uf1|uar|acc, got ${
          JSON.stringify(es.monitor)
        }`,
      );
    }
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("training aborted", "AbortError");
}

const nextTick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * A copy of the parameters and buffers in JavaScript memory (not on the
 * backend: on wasm a model-sized copy would sit on the 4 GiB heap for the
 * rest of training).
 */
type Snapshot = Map<
  string,
  { values: tf.TypedArray; shape: number[]; dtype: tf.DataType }
>;

async function snapshot(model: MerModel): Promise<Snapshot> {
  const snap: Snapshot = new Map();
  for (const [prefix, vars] of [["p", model.params], ["b", model.buffers]]) {
    for (const [k, v] of vars as Map<string, tf.Variable>) {
      snap.set(`${prefix}:${k}`, {
        values: (await v.data()) as tf.TypedArray,
        shape: v.shape,
        dtype: v.dtype,
      });
    }
  }
  return snap;
}

function restore(model: MerModel, snap: Snapshot): void {
  for (const [prefix, vars] of [["p", model.params], ["b", model.buffers]]) {
    for (const [k, v] of vars as Map<string, tf.Variable>) {
      const { values, shape, dtype } = snap.get(`${prefix}:${k}`)!;
      tf.tidy(() => v.assign(tf.tensor(values, shape, dtype)));
    }
  }
}

/**
 * The micro-batches of a batch of `size` samples: `[start, end)` ranges of
 * at most `microBatchSize` samples, in order (one range when
 * `microBatchSize` is absent or ≥ `size`).
 *
 * @param size samples in the batch (≥ 1).
 * @param microBatchSize the most samples per chunk (integer ≥ 1), or undefined.
 */
export function microBatches(
  size: number,
  microBatchSize?: number,
): [number, number][] {
  if (microBatchSize !== undefined) {
    positiveInt(microBatchSize, "recipe.microBatchSize");
  }
  const m = microBatchSize === undefined
    ? size
    : Math.min(size, microBatchSize);
  const out: [number, number][] = [];
  for (let i = 0; i < size; i += m) out.push([i, Math.min(size, i + m)]);
  return out;
}

/**
 * The dropout seed of micro-batch `k ≥ 1` of a step whose first
 * micro-batch uses `seed` (a fixed function of both, so a step's chunks
 * draw different masks and a rerun draws the same ones).
 */
function chunkSeed(seed: number, k: number): number {
  return new Rng((seed * 0x9e3779b1 + k) >>> 0).seed();
}

/**
 * The gradients of a batch's mean loss computed over micro-batches: for
 * each `[start, end)` chunk, `lossOf(chunk, k)` returns that chunk's MEAN
 * loss; its gradients are weighted by `(end − start) / total` and summed,
 * so for a model without batch statistics the result equals the gradient
 * of the whole batch's mean loss (up to float rounding). The returned
 * `value` is the same weighted sum of the chunk losses. With one chunk
 * this is exactly `tf.variableGrads` (no rescaling). The caller disposes
 * `value` and the gradients; gradients are keyed by variable name.
 *
 * @param chunks the micro-batches (from {@linkcode microBatches}).
 * @param lossOf builds the mean loss of one chunk (called inside the tape).
 * @param vars the variables to differentiate.
 */
export function accumulatedGradients(
  chunks: readonly [number, number][],
  lossOf: (chunk: [number, number], index: number) => tf.Scalar,
  vars: tf.Variable[],
): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
  if (chunks.length === 1) {
    const { value, grads } = tf.variableGrads(
      () => lossOf(chunks[0], 0),
      vars,
    );
    return { value, grads: new Map(Object.entries(grads)) };
  }
  const total = chunks.reduce((s, [a, b]) => s + (b - a), 0);
  let value: tf.Scalar | null = null;
  const sums = new Map<string, tf.Tensor>();
  try {
    chunks.forEach((chunk, k) => {
      const w = (chunk[1] - chunk[0]) / total;
      const r = tf.variableGrads(() => lossOf(chunk, k), vars);
      try {
        const prevValue: tf.Scalar | null = value;
        value = tf.tidy(() => {
          const scaled = tf.mul(r.value, w) as tf.Scalar;
          return prevValue ? tf.add(prevValue, scaled) : scaled;
        });
        prevValue?.dispose();
        // one variable at a time, its chunk gradient freed at once: never
        // more than one whole-model gradient copy beside the running sums
        for (const [name, g] of Object.entries(r.grads)) {
          const prev = sums.get(name);
          sums.set(
            name,
            tf.tidy(() => {
              const gw = tf.mul(g, w);
              return prev ? tf.add(prev, gw) : gw;
            }),
          );
          prev?.dispose();
          g.dispose();
        }
      } finally {
        tf.dispose([r.value, ...Object.values(r.grads)]);
      }
    });
  } catch (e) {
    tf.dispose([...(value ? [value] : []), ...sums.values()]);
    throw e;
  }
  return { value: value!, grads: sums };
}

/**
 * {@linkcode accumulatedGradients} with the running sums in JavaScript
 * memory: each chunk's gradient is read back (`dataSync`), disposed at once
 * and added into a `Float32Array` with float32 rounding after each
 * operation — bit-identical to the tensor path — so during a chunk's
 * backward pass the backend holds no gradient sums (on wasm: one
 * parameter-sized copy fewer on the 4 GiB heap). Needs a backend with
 * synchronous reads (`cpu`, `wasm`). The caller disposes `value`.
 *
 * @param chunks the micro-batches (from {@linkcode microBatches}).
 * @param lossOf builds the mean loss of one chunk (called inside the tape).
 * @param vars the variables to differentiate.
 * @returns the weighted loss and the gradient sums keyed by variable name.
 */
export function accumulatedGradientsOnHost(
  chunks: readonly [number, number][],
  lossOf: (chunk: [number, number], index: number) => tf.Scalar,
  vars: tf.Variable[],
): { value: tf.Scalar; grads: Map<string, Float32Array> } {
  const total = chunks.reduce((s, [a, b]) => s + (b - a), 0);
  let value: tf.Scalar | null = null;
  const sums = new Map<string, Float32Array>();
  const f32 = Math.fround;
  try {
    chunks.forEach((chunk, k) => {
      const w = (chunk[1] - chunk[0]) / total;
      const r = tf.variableGrads(() => lossOf(chunk, k), vars);
      try {
        const prevValue: tf.Scalar | null = value;
        value = tf.tidy(() => {
          const scaled = tf.mul(r.value, w) as tf.Scalar;
          return prevValue ? tf.add(prevValue, scaled) : scaled;
        });
        prevValue?.dispose();
        // as tf.mul(g, w): w becomes a float32 scalar
        const wf = f32(w);
        for (const [name, g] of Object.entries(r.grads)) {
          const gv = g.dataSync() as Float32Array;
          g.dispose();
          let sum = sums.get(name);
          if (sum === undefined) {
            sum = new Float32Array(gv.length);
            for (let i = 0; i < gv.length; i++) sum[i] = f32(gv[i] * wf);
            sums.set(name, sum);
          } else {
            for (let i = 0; i < gv.length; i++) {
              sum[i] = f32(sum[i] + f32(gv[i] * wf));
            }
          }
        }
      } finally {
        tf.dispose([r.value, ...Object.values(r.grads)]);
      }
    });
  } catch (e) {
    if (value) (value as tf.Scalar).dispose();
    throw e;
  }
  return { value: value!, grads: sums };
}

/**
 * Trains one job and predicts its test splits (see the module doc).
 *
 * Epoch records: `epoch` is 1-based, `trainLoss` is the sample-weighted mean
 * of the step losses, `lr` is the learning rate of the epoch's last step,
 * `alpha` the DGCM weight of the epoch, `validation` the validation loss
 * (inference mode, the epoch's objective) and metrics, `seconds` the wall
 * time of the epoch including validation.
 *
 * Early stopping: after each epoch the monitored value (validation loss:
 * lower is better; uf1/uar/acc: higher is better) improves when it beats the
 * best so far by more than `minDelta`; training stops once `patience`
 * epochs in a row have not improved. `bestEpoch` is the best epoch
 * (without early stopping: the last one). With `restoreBest` the model's
 * parameters and buffers are those of the best epoch at the end.
 *
 * @param input the job.
 * @returns the trained model (the caller disposes it), epoch records and
 *   predictions.
 */
export async function train(input: TrainInput): Promise<TrainResult> {
  validate(input);
  const { recipe, seeds, classes, signal } = input;
  if (signal?.aborted) throw abortReason(signal);
  const trainLabels = labelIndices(input.train, classes, "train");
  const validation = input.validation && input.validation.length > 0
    ? input.validation
    : null;
  if (validation) labelIndices(validation, classes, "validation");

  const model = input.buildModel(input.modelConfig, seeds.init);
  const dgcm = isDgcm(model);
  // on wasm the moments live in JavaScript memory (bit-identical; two
  // parameter-sized copies fewer on the 4 GiB heap)
  const optimizer = new AdamW(model.params, recipe.optimizer, undefined, {
    moments: tf.getBackend() === "wasm" ? "host" : "device",
  });
  const keyOfVariable = new Map(
    [...model.params].map(([k, v]) => [v.name, k]),
  );
  const varList = [...model.params.values()];
  let best: Snapshot | null = null;
  const disposeSnapshot = () => {
    best = null;
  };
  try {
    const orderRng = new Rng(seeds.order);
    const augmentRng = new Rng(seeds.augment);
    const dropoutRng = new Rng(seeds.dropout);
    const n = input.train.length;
    const stepsPerEpoch = splitBatches(
      Array.from({ length: n }, (_, i) => i),
      recipe.batchSize,
    ).length;
    const totalSteps = stepsPerEpoch * recipe.epochs;
    const es = recipe.earlyStopping;
    const epochs: EpochRecord[] = [];
    let step = 0;
    let bestValue: number | null = null;
    let bestEpoch = 0;
    let sinceBest = 0;
    let stoppedEarly = false;

    for (let epoch = 0; epoch < recipe.epochs; epoch++) {
      const started = performance.now();
      const alpha = dgcm ? alphaAt(epoch, recipe.epochs, recipe.alpha) : 0;
      const batches = splitBatches(epochOrder(n, orderRng), recipe.batchSize);
      let lossSum = 0;
      let lr = optimizer.lr;
      for (const batch of batches) {
        if (signal?.aborted) throw abortReason(signal);
        lr = learningRateAt(
          step,
          stepsPerEpoch,
          recipe.epochs,
          recipe.optimizer,
          recipe.schedule,
        );
        optimizer.lr = lr;
        const flips = drawFlips(batch.length, recipe.augment.hflip, augmentRng);
        const seed = dropoutRng.seed();
        const chunks = microBatches(batch.length, recipe.microBatchSize);
        let loss: number;
        // inputs are built outside the gradient tape
        const owned: tf.Tensor[] = chunks.map(([start, end]) =>
          tf.tidy(() =>
            hflipFlow(
              stackBatch(input.train, batch.slice(start, end)),
              flips.slice(start, end),
            )
          )
        );
        try {
          const lossOf = (chunk: [number, number], k: number) =>
            batchLoss(
              model.apply(owned[k] as tf.Tensor4D, {
                training: true,
                seed: k === 0 ? seed : chunkSeed(seed, k),
                checkpoint: recipe.checkpoint ?? false,
              }),
              trainLabels,
              batch.slice(chunk[0], chunk[1]),
              dgcm,
              alpha,
            );
          // with host moments (wasm) several chunks' gradient sums live on
          // the host too (bit-identical)
          const { value, grads } = chunks.length > 1 &&
              optimizer.moments === "host"
            ? accumulatedGradientsOnHost(chunks, lossOf, varList)
            : accumulatedGradients(chunks, lossOf, varList);
          owned.push(value);
          const named = new Map<string, tf.Tensor | Float32Array>();
          for (const [varName, g] of grads) {
            if (!(g instanceof Float32Array)) owned.push(g);
            named.set(keyOfVariable.get(varName)!, g);
          }
          grads.clear();
          // each gradient is freed as soon as its parameter is updated
          optimizer.step(named, { disposeGrads: true });
          named.clear();
          loss = (await value.data())[0];
        } finally {
          tf.dispose(owned);
        }
        if (!Number.isFinite(loss)) {
          throw new Error(
            `train: the loss became ${loss} at epoch ${epoch + 1}, step ${
              step + 1
            } (lr ${lr})`,
          );
        }
        lossSum += loss * batch.length;
        step++;
        input.onStep?.(step, totalSteps);
        await nextTick();
      }
      const record: EpochRecord = {
        epoch: epoch + 1,
        trainLoss: lossSum / n,
        lr,
        seconds: 0,
      };
      if (dgcm) record.alpha = alpha;
      if (validation) {
        if (signal?.aborted) throw abortReason(signal);
        const ev = await evaluate(model, validation, classes, {
          batchSize: recipe.evalBatchSize,
          alpha: dgcm ? alpha : undefined,
          checkpoint: recipe.checkpoint,
        });
        const m = computeMetrics(ev.truth, ev.pred, classes);
        record.validation = {
          loss: ev.loss,
          uf1: m.uf1,
          uar: m.uar,
          acc: m.acc,
        };
      }
      record.seconds = (performance.now() - started) / 1000;
      epochs.push(record);
      input.onEpoch?.(record);

      if (es && record.validation) {
        const value = record.validation[es.monitor as MetricName | "loss"];
        const improved = bestValue === null ||
          (es.monitor === "loss"
            ? value < bestValue - es.minDelta
            : value > bestValue + es.minDelta);
        if (improved) {
          bestValue = value;
          bestEpoch = epoch + 1;
          sinceBest = 0;
          if (es.restoreBest) {
            disposeSnapshot();
            best = await snapshot(model);
          }
        } else {
          sinceBest++;
          if (sinceBest >= es.patience) {
            stoppedEarly = epoch + 1 < recipe.epochs;
            break;
          }
        }
      } else {
        bestEpoch = epoch + 1;
      }
    }
    if (es?.restoreBest && best) {
      restore(model, best);
    }
    disposeSnapshot();
    optimizer.dispose();

    const predictions: Prediction[] = [];
    for (const [split, samples] of Object.entries(input.tests)) {
      if (samples.length === 0) continue;
      if (signal?.aborted) throw abortReason(signal);
      const ev = await evaluate(model, samples, classes, {
        batchSize: recipe.evalBatchSize,
        checkpoint: recipe.checkpoint,
      });
      samples.forEach((s, i) =>
        predictions.push({
          id: s.id,
          subject: s.subject,
          source: s.source,
          split,
          label: ev.truth[i],
          pred: ev.pred[i],
        })
      );
    }
    return { model, epochs, bestEpoch, stoppedEarly, predictions };
  } catch (error) {
    disposeSnapshot();
    optimizer.dispose();
    model.dispose();
    throw error;
  }
}
