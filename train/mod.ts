/**
 * The training library: trains one job (a model, its samples, a recipe and
 * seeds) and predicts its test sets. AdamW with decoupled weight decay,
 * warm-up + cosine learning-rate schedule, early stopping on a validation
 * set, micro-batched gradient accumulation, the DGCM labels, loss and
 * decision rule, seeded batch order and flips, and the UF1/UAR/ACC metrics
 * of the field.
 *
 * It knows models and datasets only through the model library's and the data
 * layer's plain types; the spec side (`dsl/`) calls {@link train} once per job.
 *
 * ```ts
 * import { computeMetrics } from "./mod.ts";
 *
 * const m = computeMetrics([0, 1, 1], [0, 1, 0], ["a", "b"]);
 * console.log(m.uf1.toFixed(3));
 * ```
 *
 * @module
 */
export { train } from "./train.ts";
export { evaluate, type EvaluateOptions, type Evaluation } from "./evaluate.ts";
export {
  accumulatedGradients,
  accumulatedGradientsOnHost,
  microBatches,
} from "./accumulate.ts";
export { computeMetrics, scoreConfusion } from "./metrics.ts";
export { DGCM_COARSE, DGCM_FINE, dgcmDecision, dgcmTargets } from "./dgcm.ts";
export { crossEntropy, crossEntropyPerSample, dgcmLoss } from "./losses.ts";
export {
  AdamW,
  type AdamWOptions,
  type AdamWStepOptions,
  decaysParameter,
  type MomentStorage,
} from "./optim.ts";
export { alphaAt, learningRateAt } from "./schedule.ts";
export {
  checkSamples,
  epochOrder,
  labelIndices,
  type SampleShape,
  splitBatches,
  stackBatch,
} from "./batches.ts";
export { drawFlips, hflipFlow, randomHFlip } from "./augment.ts";
export { MAX_SEED, Rng } from "./rng.ts";
export { METRIC_NAMES } from "./types.ts";
export type {
  AlphaSchedule,
  AugmentSettings,
  EarlyStoppingSettings,
  EpochRecord,
  JobSeeds,
  MetricName,
  Metrics,
  OptimizerSettings,
  Prediction,
  ScheduleSettings,
  TrainInput,
  TrainRecipe,
  TrainResult,
} from "./types.ts";
