/**
 * Running one job: split its samples, train, compute the metrics of each
 * test split, save the weights and record everything in the run store
 * ({@link executeJob}); and naming a failed job's cause, with a fix for a
 * backend that ran out of memory ({@link describeJobFailure}).
 *
 * @module
 */
import type { FlowDataset } from "../data/types.ts";
import type { EpochRecord, Metrics } from "../train/types.ts";
import type { Deps } from "./deps.ts";
import type { Job } from "./plan.ts";
import { splitSamples } from "./protocols.ts";
import { type RunContext, runContext, type RunStore } from "./store.ts";

/**
 * True when `error` says the backend ran out of memory: a WebAssembly
 * `RuntimeError` (the wasm backend's `Aborted()` when its heap is
 * exhausted), or a message about memory allocation failing. Also accepts
 * the error's text (as sent back by a worker).
 */
export function isBackendMemoryError(error: unknown): boolean {
  if (error instanceof WebAssembly.RuntimeError) return true;
  const text = typeof error === "string"
    ? error
    : error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  return /RuntimeError: Aborted\(|\bAborted\(\)|out of memory|Cannot enlarge memory|memory access out of bounds|Array buffer allocation failed|Failed to allocate|OOM\b/i
    .test(text);
}

/**
 * The failure text of a job: for a backend memory error (see
 * {@link isBackendMemoryError}) a clear message naming the job, its batch
 * size, micro-batch size and input size, and how to fix it
 * (`--set train.microBatchSize=8` or a smaller batch, and
 * `--set train.checkpoint=true` when it is not set); otherwise the
 * error's stack (or text).
 */
export function describeJobFailure(job: Job, error: unknown): string {
  const text = error instanceof Error
    ? String(error.stack ?? `${error.name}: ${error.message}`)
    : String(error);
  if (!isBackendMemoryError(error)) return text;
  const first =
    (error instanceof Error ? `${error.name}: ${error.message}` : text).split(
      "\n",
    )[0];
  const cfg = job.modelConfig;
  const [h, w] = typeof cfg.inputSize === "number"
    ? [cfg.inputSize, cfg.inputSize]
    : cfg.inputSize;
  const bs = job.recipe.batchSize;
  const micro = job.recipe.microBatchSize;
  const chunk = micro !== undefined && micro < bs ? micro : undefined;
  const ckpt = job.recipe.checkpoint
    ? ""
    : " and --set train.checkpoint=true (token blocks recomputed in the backward pass)";
  const hint = chunk === undefined
    ? `set --set train.microBatchSize=${Math.max(1, Math.min(8, bs >> 1))}${
      bs > 1 ? ` (or a smaller train.batchSize)` : ""
    }${ckpt}`
    : chunk > 1
    ? `set a smaller --set train.microBatchSize=${chunk >> 1}${ckpt}`
    : job.recipe.checkpoint
    ? "the model does not fit even one sample at a time: use a smaller model or input, or another backend"
    : "set --set train.checkpoint=true (token blocks recomputed in the backward pass); if one sample at a time still does not fit, use a smaller model or input, or another backend";
  return `job ${job.id} (${job.variant}, seed ${job.seed}, fold ${job.fold.name}) ran out of ${job.backend} backend memory (${first}) at batch size ${bs}${
    chunk !== undefined ? ` in micro-batches of ${chunk}` : ""
  }, input ${h}×${w}×${cfg.inChannels}: ${hint}`;
}

/** Progress callbacks of one job. */
export interface JobHooks {
  /** after every training step. */
  onStep?: (step: number, total: number) => void;
  /** after every epoch. */
  onEpoch?: (record: EpochRecord) => void;
  /** stops training; the job stays unfinished. */
  signal?: AbortSignal;
}

/** Thrown when a job is stopped by its signal (it stays unfinished). */
export class JobAbortedError extends Error {
  /**
   * Creates the error.
   *
   * @param jobId the job's id.
   */
  constructor(jobId: string) {
    super(`job ${jobId} aborted`);
    this.name = "JobAbortedError";
  }
}

/**
 * Runs one job end to end: splits the samples, writes `job.json`, trains,
 * logs epochs, computes metrics per test split, saves the weights and
 * finally `done.json`.
 */
export async function executeJob(
  job: Job,
  dataset: FlowDataset,
  deps: Deps,
  store: RunStore,
  hooks: JobHooks = {},
  context?: RunContext,
): Promise<void> {
  const parts = splitSamples(job, dataset.samples);
  await store.start(job, context ?? await runContext());
  const t0 = performance.now();
  const epochs: EpochRecord[] = [];
  let writes: Promise<void> = Promise.resolve();
  const result = await deps.train({
    modelConfig: job.modelConfig,
    classes: dataset.classes,
    train: parts.train,
    validation: parts.validation,
    tests: parts.tests,
    recipe: job.recipe,
    seeds: job.seeds,
    buildModel: deps.buildModel,
    onEpoch: (record) => {
      epochs.push(record);
      const snapshot = [...epochs];
      writes = writes.then(() => store.writeEpochs(job, snapshot));
      // awaited after training; a failed write must not go unhandled if
      // training fails first
      writes.catch(() => {});
      hooks.onEpoch?.(record);
    },
    onStep: hooks.onStep,
    signal: hooks.signal,
  });
  try {
    await writes;
    if (hooks.signal?.aborted) throw new JobAbortedError(job.id);
    const metrics: Record<string, Metrics> = {};
    for (const split of Object.keys(parts.tests)) {
      const preds = result.predictions.filter((p) => p.split === split);
      metrics[split] = deps.computeMetrics(
        preds.map((p) => p.label),
        preds.map((p) => p.pred),
        dataset.classes,
      );
    }
    if (deps.saveSafetensors) {
      const save = deps.saveSafetensors;
      await store.writeWeights(job, (path) =>
        save(result.model, path, {
          experiment: job.experiment,
          variant: job.variant,
          seed: String(job.seed),
          fold: job.fold.name,
          hash: job.hash,
        }));
    }
    await store.finish(job, {
      predictions: result.predictions,
      metrics,
      epochs: result.epochs,
      bestEpoch: result.bestEpoch,
      stoppedEarly: result.stoppedEarly,
      seconds: (performance.now() - t0) / 1000,
    });
  } finally {
    result.model.dispose();
  }
}
