/**
 * The training loop of one job: model from `seeds.init`, AdamW with a
 * per-step learning rate, seeded batch order / flips / dropout, CE or DGCM
 * loss (`objective.ts`), micro-batched gradient accumulation
 * (`accumulate.ts`), early stopping on validation (`early_stopping.ts`),
 * and predictions on every test split (`evaluate.ts`).
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
 * redraw and an `AbortSignal` can fire). The `signal` is checked before
 * every step; when it has fired the model is released and `train` rejects
 * with the signal's reason.
 *
 * Memory: `recipe.checkpoint` passes `ForwardOptions.checkpoint` to every
 * training pass (token blocks recomputed in the backward pass;
 * bit-identical); each micro-batch's gradients are added into the running
 * sums one variable at a time; AdamW updates one parameter at a time and
 * frees each gradient once applied, so no whole-model temporaries exist
 * beside the parameters, the moments and one gradient copy. On the wasm
 * backend (a 4 GiB heap) AdamW's moments and a micro-batched step's
 * gradient sums live in JavaScript memory (bit-identical).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { MerModel } from "../model/types.ts";
import type { FlowSample } from "../data/types.ts";
import type {
  EpochRecord,
  Prediction,
  TrainInput,
  TrainResult,
} from "./types.ts";
import { Rng } from "./rng.ts";
import { AdamW } from "./optim.ts";
import { alphaAt, learningRateAt } from "./schedule.ts";
import { drawFlips, hflipFlow } from "./augment.ts";
import {
  epochOrder,
  labelIndices,
  splitBatches,
  stackBatch,
} from "./batches.ts";
import { computeMetrics } from "./metrics.ts";
import { batchLoss, isDgcm } from "./objective.ts";
import { evaluate } from "./evaluate.ts";
import { validateTrainInput } from "./validate.ts";
import {
  accumulatedGradients,
  accumulatedGradientsOnHost,
  chunkSeed,
  microBatches,
} from "./accumulate.ts";
import { EarlyStopping } from "./early_stopping.ts";

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("training aborted", "AbortError");
}

const nextTick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** The state of one training run shared by its epochs and steps. */
interface Run {
  input: TrainInput;
  model: MerModel;
  dgcm: boolean;
  optimizer: AdamW;
  trainLabels: Int32Array;
  /** variable name → parameter name. */
  keyOfVariable: Map<string, string>;
  varList: tf.Variable[];
  orderRng: Rng;
  augmentRng: Rng;
  dropoutRng: Rng;
  stepsPerEpoch: number;
  totalSteps: number;
  /** global steps taken so far. */
  step: number;
}

/**
 * One optimizer step on the samples `batch` (indices into the training
 * set) at DGCM weight `alpha`: draws the flips and the dropout seed, runs
 * the micro-batches, applies AdamW.
 *
 * @returns the batch's mean loss.
 */
async function trainStep(
  run: Run,
  batch: readonly number[],
  alpha: number,
): Promise<number> {
  const { input, model, optimizer, dgcm } = run;
  const recipe = input.recipe;
  const flips = drawFlips(batch.length, recipe.augment.hflip, run.augmentRng);
  const seed = run.dropoutRng.seed();
  const chunks = microBatches(batch.length, recipe.microBatchSize);
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
        run.trainLabels,
        batch.slice(chunk[0], chunk[1]),
        dgcm,
        alpha,
      );
    // with host moments (wasm) several chunks' gradient sums live on
    // the host too (bit-identical)
    const { value, grads } = chunks.length > 1 &&
        optimizer.moments === "host"
      ? accumulatedGradientsOnHost(chunks, lossOf, run.varList)
      : accumulatedGradients(chunks, lossOf, run.varList);
    owned.push(value);
    const named = new Map<string, tf.Tensor | Float32Array>();
    for (const [varName, g] of grads) {
      if (!(g instanceof Float32Array)) owned.push(g);
      named.set(run.keyOfVariable.get(varName)!, g);
    }
    grads.clear();
    // each gradient is freed as soon as its parameter is updated
    optimizer.step(named, { disposeGrads: true });
    named.clear();
    return (await value.data())[0];
  } finally {
    tf.dispose(owned);
  }
}

/**
 * The training steps of epoch `epoch` (0-based): its batch order, the
 * learning rate of each global step, the steps and their progress calls.
 *
 * @returns the epoch's record without validation (`seconds` 0).
 */
async function trainEpoch(run: Run, epoch: number): Promise<EpochRecord> {
  const { input, optimizer, dgcm } = run;
  const { recipe, signal } = input;
  const n = input.train.length;
  const alpha = dgcm ? alphaAt(epoch, recipe.epochs, recipe.alpha) : 0;
  const batches = splitBatches(epochOrder(n, run.orderRng), recipe.batchSize);
  let lossSum = 0;
  let lr = optimizer.lr;
  for (const batch of batches) {
    if (signal?.aborted) throw abortReason(signal);
    lr = learningRateAt(
      run.step,
      run.stepsPerEpoch,
      recipe.epochs,
      recipe.optimizer,
      recipe.schedule,
    );
    optimizer.lr = lr;
    const loss = await trainStep(run, batch, alpha);
    if (!Number.isFinite(loss)) {
      throw new Error(
        `train: the loss became ${loss} at epoch ${epoch + 1}, step ${
          run.step + 1
        } (lr ${lr})`,
      );
    }
    lossSum += loss * batch.length;
    run.step++;
    input.onStep?.(run.step, run.totalSteps);
    await nextTick();
  }
  const record: EpochRecord = {
    epoch: epoch + 1,
    trainLoss: lossSum / n,
    lr,
    seconds: 0,
  };
  if (dgcm) record.alpha = alpha;
  return record;
}

/** The validation loss and metrics of an epoch at DGCM weight `alpha`. */
async function validationScores(
  run: Run,
  validation: readonly FlowSample[],
  alpha: number,
): Promise<EpochRecord["validation"]> {
  const { input, model, dgcm } = run;
  const ev = await evaluate(model, validation, input.classes, {
    batchSize: input.recipe.evalBatchSize,
    alpha: dgcm ? alpha : undefined,
    checkpoint: input.recipe.checkpoint,
  });
  const m = computeMetrics(ev.truth, ev.pred, input.classes);
  return { loss: ev.loss, uf1: m.uf1, uar: m.uar, acc: m.acc };
}

/** The trained model's predictions on every non-empty test split. */
async function predictTests(
  model: MerModel,
  input: TrainInput,
): Promise<Prediction[]> {
  const { recipe, classes, signal } = input;
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
  return predictions;
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
 * Early stopping (see `early_stopping.ts`): `bestEpoch` is the best epoch
 * (without early stopping: the last one). With `restoreBest` the model's
 * parameters and buffers are those of the best epoch at the end.
 *
 * @param input the job.
 * @returns the trained model (the caller disposes it), epoch records and
 *   predictions.
 */
export async function train(input: TrainInput): Promise<TrainResult> {
  validateTrainInput(input);
  const { recipe, seeds, classes, signal } = input;
  if (signal?.aborted) throw abortReason(signal);
  const trainLabels = labelIndices(input.train, classes, "train");
  const validation = input.validation && input.validation.length > 0
    ? input.validation
    : null;
  if (validation) labelIndices(validation, classes, "validation");

  const model = input.buildModel(input.modelConfig, seeds.init);
  // on wasm the moments live in JavaScript memory (bit-identical; two
  // parameter-sized copies fewer on the 4 GiB heap)
  const optimizer = new AdamW(model.params, recipe.optimizer, undefined, {
    moments: tf.getBackend() === "wasm" ? "host" : "device",
  });
  const stopping = new EarlyStopping(recipe.earlyStopping, recipe.epochs);
  try {
    const stepsPerEpoch = splitBatches(
      Array.from({ length: input.train.length }, (_, i) => i),
      recipe.batchSize,
    ).length;
    const run: Run = {
      input,
      model,
      dgcm: isDgcm(model),
      optimizer,
      trainLabels,
      keyOfVariable: new Map([...model.params].map(([k, v]) => [v.name, k])),
      varList: [...model.params.values()],
      orderRng: new Rng(seeds.order),
      augmentRng: new Rng(seeds.augment),
      dropoutRng: new Rng(seeds.dropout),
      stepsPerEpoch,
      totalSteps: stepsPerEpoch * recipe.epochs,
      step: 0,
    };
    const epochs: EpochRecord[] = [];
    for (let epoch = 0; epoch < recipe.epochs; epoch++) {
      const started = performance.now();
      const record = await trainEpoch(run, epoch);
      if (validation) {
        if (signal?.aborted) throw abortReason(signal);
        record.validation = await validationScores(
          run,
          validation,
          record.alpha ?? 0,
        );
      }
      record.seconds = (performance.now() - started) / 1000;
      epochs.push(record);
      input.onEpoch?.(record);
      if (await stopping.update(record, model)) break;
    }
    stopping.finish(model);
    optimizer.dispose();
    const predictions = await predictTests(model, input);
    return {
      model,
      epochs,
      bestEpoch: stopping.bestEpoch,
      stoppedEarly: stopping.stoppedEarly,
      predictions,
    };
  } catch (error) {
    stopping.release();
    optimizer.dispose();
    model.dispose();
    throw error;
  }
}
