/**
 * The contract between the spec side of the DSL (schemas, planner,
 * interpreter, run store, CLI) and its engine side (training loop, metrics,
 * reports). Both code against these plain types.
 *
 * @module
 */
import type { MerModel, ModelConfig } from "../model/types.ts";
import type { FlowSample } from "../data/types.ts";

/** A metric the reports know. */
export type MetricName = "uf1" | "uar" | "acc";

/** AdamW settings (decoupled weight decay). */
export interface OptimizerSettings {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

/**
 * Per-step learning-rate schedule: linear warmup from `warmupStartLr` to the
 * optimizer's `lr` over `warmupEpochs`, cosine decay to `minLr` until the
 * last `cooldownEpochs`, then `minLr` held (timm's cooldown semantics).
 */
export interface ScheduleSettings {
  warmupEpochs: number;
  cooldownEpochs: number;
  warmupStartLr: number;
  minLr: number;
}

/** Early stopping on a monitored metric. */
export interface EarlyStoppingSettings {
  monitor: MetricName | "loss";
  patience: number;
  minDelta: number;
  /** restore the best epoch's weights at the end. */
  restoreBest: boolean;
}

/** DGCM weight α(epoch) of the fine loss, rising with training. */
export interface AlphaSchedule {
  kind: "constant" | "linear" | "cosine" | "step";
  start: number;
  end: number;
  /** epochs over which it rises (default: all). */
  rampEpochs?: number;
}

/** Data augmentation applied to training batches. */
export interface AugmentSettings {
  /** probability of a horizontal flip (mirror the field and negate u). */
  hflip: number;
}

/** The training recipe of one job. */
export interface TrainRecipe {
  epochs: number;
  batchSize: number;
  evalBatchSize: number;
  optimizer: OptimizerSettings;
  schedule: ScheduleSettings;
  earlyStopping: EarlyStoppingSettings | null;
  augment: AugmentSettings;
  alpha: AlphaSchedule;
}

/** Independent random streams of one job, derived by name from the root seed. */
export interface JobSeeds {
  init: number;
  order: number;
  augment: number;
  dropout: number;
}

/** One epoch's log line (written as JSONL). */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  lr: number;
  alpha?: number;
  validation?: { loss: number } & Record<MetricName, number>;
  seconds: number;
}

/** One prediction of a trained model on a test sample. */
export interface Prediction {
  id: string;
  subject: string;
  source: string;
  /** test split name (`test` for LOSO folds, `testA`, …). */
  split: string;
  /** true class index into the dataset's classes. */
  label: number;
  /** predicted class index. */
  pred: number;
}

/** Everything one training job needs. */
export interface TrainInput {
  modelConfig: ModelConfig;
  /** dataset classes; DGCM requires the 7 emotions of `EMOTIONS_7`. */
  classes: readonly string[];
  train: FlowSample[];
  /** monitored by early stopping; null: no early stopping data. */
  validation: FlowSample[] | null;
  tests: Record<string, FlowSample[]>;
  recipe: TrainRecipe;
  seeds: JobSeeds;
  buildModel: (config: ModelConfig, seed: number) => MerModel;
  /** called after every epoch (progress, logs). */
  onEpoch?: (record: EpochRecord) => void;
  /** called after every step with (step, totalSteps) (progress bars). */
  onStep?: (step: number, total: number) => void;
  /** stops training at the next step boundary; the job then counts as unfinished. */
  signal?: AbortSignal;
}

/** The outcome of one training job. */
export interface TrainResult {
  model: MerModel;
  epochs: EpochRecord[];
  bestEpoch: number;
  stoppedEarly: boolean;
  predictions: Prediction[];
}

/** Metrics of one set of predictions. */
export interface Metrics {
  uf1: number;
  uar: number;
  acc: number;
  n: number;
  classes: string[];
  /** confusion[true][pred]. */
  confusion: number[][];
  perClass: {
    name: string;
    support: number;
    tp: number;
    fp: number;
    fn: number;
    f1: number;
    recall: number;
  }[];
  /** classes with no ground-truth sample (see metrics.ts for how they count). */
  absent: string[];
}

/** One row of a report: a variant on one group (test split or source dataset). */
export interface ReportRow {
  variant: string;
  /** `testA`, `testB`, `overall`, `casme2`, … */
  group: string;
  /** per seed, the predictions of all folds concatenated. */
  predictionsBySeed: Prediction[][];
  /** the paper's published numbers for this row. */
  paper?: Partial<Record<MetricName, number>>;
}

/** Numbers-only rows (other methods in the paper's table). */
export interface ReferenceRow {
  method: string;
  group: string;
  values: Partial<Record<MetricName, number>>;
}

/** What a report is made from. */
export interface ReportInput {
  name: string;
  description: string;
  /** e.g. "synthetic-dfme (built-in test-bed)". */
  dataset: string;
  classes: readonly string[];
  metrics: MetricName[];
  rows: ReportRow[];
  references: ReferenceRow[];
  curves: { variant: string; seed: number; fold: string; epochs: EpochRecord[] }[];
}
