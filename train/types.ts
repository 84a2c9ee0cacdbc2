/**
 * The training library's plain types: the recipe, seeds, inputs and results
 * of one training job, epoch records, predictions and metrics.
 *
 * @module
 */
import type { MerModel, ModelConfig } from "../model/types.ts";
import type { FlowSample } from "../data/types.ts";

/** The metrics the reports know (in report order). */
export const METRIC_NAMES = ["uf1", "uar", "acc"] as const;

/** A metric the reports know. */
export type MetricName = typeof METRIC_NAMES[number];

/** AdamW settings (decoupled weight decay). */
export interface OptimizerSettings {
  /** peak learning rate. */
  lr: number;
  /** Adam β1, β2. */
  betas: [number, number];
  /** Adam ε. */
  eps: number;
  /** decoupled weight decay (see train/optim.ts for which parameters decay). */
  weightDecay: number;
}

/**
 * Per-step learning-rate schedule: linear warmup from `warmupStartLr` to the
 * optimizer's `lr` over `warmupEpochs`, cosine decay to `minLr` until the
 * last `cooldownEpochs`, then `minLr` held (timm's cooldown semantics).
 */
export interface ScheduleSettings {
  /** epochs of linear warmup. */
  warmupEpochs: number;
  /** final epochs held at `minLr`. */
  cooldownEpochs: number;
  /** learning rate at the first step. */
  warmupStartLr: number;
  /** floor of the cosine decay and cooldown rate. */
  minLr: number;
}

/** Early stopping on a monitored metric. */
export interface EarlyStoppingSettings {
  /** validation quantity watched (loss: lower is better; metrics: higher). */
  monitor: MetricName | "loss";
  /** epochs without improvement before stopping. */
  patience: number;
  /** smallest change that counts as an improvement. */
  minDelta: number;
  /** restore the best epoch's weights at the end. */
  restoreBest: boolean;
}

/** DGCM weight α(epoch) of the fine loss, rising with training. */
export interface AlphaSchedule {
  /** shape of the rise (see train/schedule.ts `alphaAt`). */
  kind: "constant" | "linear" | "cosine" | "step";
  /** α at the first epoch. */
  start: number;
  /** α once the ramp is over. */
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
  /** training epochs. */
  epochs: number;
  /** training batch size. */
  batchSize: number;
  /** batch size of validation and test passes. */
  evalBatchSize: number;
  /**
   * process each optimizer step's batch in chunks of at most this many
   * samples, accumulating the gradients (weighted by chunk size, so they
   * equal the whole batch's mean-loss gradient for a model without batch
   * statistics) before one AdamW step; absent or ≥ `batchSize`: no
   * micro-batching. BatchNorm's batch statistics (and its running-stat
   * updates) are then per micro-batch, and each micro-batch draws its own
   * dropout masks. For memory: the wasm backend's heap is limited.
   */
  microBatchSize?: number;
  /**
   * gradient checkpointing (`ForwardOptions.checkpoint` of every training
   * pass): the model's token blocks are recomputed in the backward pass
   * instead of keeping their intermediates — same losses and gradients (to
   * float rounding), about one extra block forward of time for most of the
   * activation memory. Absent: false.
   */
  checkpoint?: boolean;
  /** AdamW settings. */
  optimizer: OptimizerSettings;
  /** learning-rate schedule. */
  schedule: ScheduleSettings;
  /** early stopping, or null for none. */
  earlyStopping: EarlyStoppingSettings | null;
  /** training augmentation. */
  augment: AugmentSettings;
  /** DGCM fine-loss weight schedule. */
  alpha: AlphaSchedule;
}

/** Independent random streams of one job, derived by name from the root seed. */
export interface JobSeeds {
  /** parameter initialisation. */
  init: number;
  /** batch order of every epoch. */
  order: number;
  /** augmentation draws. */
  augment: number;
  /** per-step forward-pass seeds (dropout, drop path). */
  dropout: number;
}

/** One epoch's log line (written as JSONL). */
export interface EpochRecord {
  /** epoch number, 1-based. */
  epoch: number;
  /** sample-weighted mean training loss of the epoch. */
  trainLoss: number;
  /** learning rate of the epoch's last step. */
  lr: number;
  /** DGCM α of the epoch. */
  alpha?: number;
  /** validation loss and metrics after the epoch. */
  validation?: { loss: number } & Record<MetricName, number>;
  /** wall time of the epoch, validation included. */
  seconds: number;
}

/** One prediction of a trained model on a test sample. */
export interface Prediction {
  /** sample id. */
  id: string;
  /** sample subject. */
  subject: string;
  /** sample source corpus. */
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
  /** the model to build. */
  modelConfig: ModelConfig;
  /** dataset classes; DGCM requires the 7 emotions of `EMOTIONS_7`. */
  classes: readonly string[];
  /** training samples. */
  train: FlowSample[];
  /** monitored by early stopping; null: no early stopping data. */
  validation: FlowSample[] | null;
  /** test splits by name; each gets predictions. */
  tests: Record<string, FlowSample[]>;
  /** the training recipe. */
  recipe: TrainRecipe;
  /** the job's random streams. */
  seeds: JobSeeds;
  /** builds the model with seeded initialisation. */
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
  /** the trained model (the caller disposes it). */
  model: MerModel;
  /** one record per epoch run. */
  epochs: EpochRecord[];
  /** the best epoch (1-based; the last one without early stopping). */
  bestEpoch: number;
  /** whether early stopping ended training before `epochs`. */
  stoppedEarly: boolean;
  /** predictions on every test split. */
  predictions: Prediction[];
}

/** Metrics of one set of predictions. */
export interface Metrics {
  /** unweighted F1 (mean over present classes). */
  uf1: number;
  /** unweighted average recall (mean over present classes). */
  uar: number;
  /** accuracy. */
  acc: number;
  /** number of predictions. */
  n: number;
  /** class names. */
  classes: string[];
  /** confusion[true][pred]. */
  confusion: number[][];
  /** per-class counts and scores. */
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
