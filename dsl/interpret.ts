/**
 * The interpreter: loads the dataset once, resolves and plans the jobs,
 * skips finished ones, runs the rest (serially or in parallel workers),
 * stores their records, and (re)builds the report from whatever records
 * exist.
 *
 * Everything it needs from the model library, the data layer and the
 * engine comes through a {@link Deps} object: {@link loadDeps} assembles
 * the real one (`model/mod.ts`, `data/mod.ts`, `train/train.ts`,
 * `train/metrics.ts`, `dsl/report/mod.ts`, `model/backend/runtime.ts`); tests pass
 * stand-ins (a module exporting `deps`, which workers import too).
 *
 * @module
 */
import { join } from "node:path";
import type { DatasetRequest, FlowDataset } from "../data/types.ts";
import type { MerModel, ModelConfig } from "../model/types.ts";
import type {
  EpochRecord,
  Metrics,
  Prediction,
  TrainInput,
  TrainResult,
} from "../train/types.ts";
import type { ReportInput, ReportRow } from "./report/types.ts";
import {
  expandVariants,
  type Job,
  type ModelLibrary,
  planJobs,
  type ResolvedVariant,
  resolveVariants,
  shardJobs,
} from "./plan.ts";
import { checkPlanData, foldsFor, splitSamples } from "./protocols.ts";
import type { Experiment } from "./schema.ts";
import { DatasetError, StoreError } from "./errors.ts";
import { deriveSeed } from "./seeds.ts";
import {
  type JobClaim,
  type JobRecord,
  type RunContext,
  runContext,
  RunStore,
  UNKNOWN_KERNEL_SET,
} from "./store.ts";

/** The engine side's functions (see `train/types.ts`). */
export interface Engine {
  /** trains one job and predicts its tests. */
  train(input: TrainInput): Promise<TrainResult>;
  /** UF1/UAR/ACC and confusion of one set of predictions. */
  computeMetrics(
    truth: number[],
    pred: number[],
    classes: readonly string[],
  ): Metrics;
  /** writes the report files; returns their paths. */
  writeReport(input: ReportInput, outDir: string): Promise<string[]>;
}

/** Everything the interpreter calls out to. */
export interface Deps extends ModelLibrary, Engine {
  /** builds a model with seeded initialisation. */
  buildModel(config: ModelConfig, seed: number): MerModel;
  /** loads (and caches) a dataset. */
  loadFlowDataset(req: DatasetRequest): Promise<FlowDataset>;
  /**
   * selects and initialises the TF.js backend; what it returns (the
   * runtime's `BackendInfo`: name, versions, BLAS setting, notes) is
   * recorded in each job's `job.json` (`context.backend`).
   */
  initBackend(name: string): Promise<unknown>;
  /**
   * what the data layer knows about a dataset name without loading it
   * (optional; lets `--dry-run` plan without the data and lets a real
   * corpus without a root be reported before anything is loaded).
   */
  datasetInfo?(name: string): DatasetKnowledge;
  /** writes a model's weights as safetensors (optional). */
  saveSafetensors?(
    model: MerModel,
    path: string,
    metadata?: Record<string, string>,
  ): Promise<void>;
}

/** What {@link Deps.datasetInfo} tells about a dataset name. */
export interface DatasetKnowledge {
  /** `corpus`: read from `root`; `synthetic`: generated. */
  kind: "synthetic" | "corpus";
  /** the class list of the loaded dataset. */
  classes: readonly string[];
  /** one line on what it is. */
  description: string;
}

const DEFAULT_MODULES = {
  model: "../model/mod.ts",
  data: "../data/mod.ts",
  runtime: "../model/backend/runtime.ts",
  train: "../train/train.ts",
  metrics: "../train/metrics.ts",
  report: "./report/mod.ts",
} as const;

async function importFrom(rel: string): Promise<Record<string, unknown>> {
  const url = new URL(rel, import.meta.url).href;
  try {
    return await import(url);
  } catch (e) {
    throw new Error(
      `cannot load ${rel.replace(/^\.\.?\//, "")}: ${(e as Error).message}`,
    );
  }
}

function need<T>(mod: Record<string, unknown>, name: string, from: string): T {
  const f = mod[name];
  if (typeof f !== "function") {
    throw new Error(`${from} does not export a function ${name}`);
  }
  return f as T;
}

/**
 * Assembles the dependencies: from `moduleUrl` (a module exporting `deps`,
 * e.g. test stand-ins) or else from the project's own modules.
 */
export async function loadDeps(moduleUrl?: string): Promise<Deps> {
  if (moduleUrl) {
    const mod = await import(moduleUrl);
    if (!mod.deps || typeof mod.deps !== "object") {
      throw new Error(`${moduleUrl} does not export \`deps\``);
    }
    return mod.deps as Deps;
  }
  const [model, data, runtime, train, metrics, report] = await Promise.all(
    Object.values(DEFAULT_MODULES).map(importFrom),
  );
  const m = DEFAULT_MODULES;
  const save = model.saveSafetensors;
  const info = data.datasetInfo;
  return {
    merbaBase: need(model, "merbaBase", m.model),
    mambaVisionB: need(model, "mambaVisionB", m.model),
    validateModelConfig: need(model, "validateModelConfig", m.model),
    countParams: need(model, "countParams", m.model),
    buildModel: need(model, "buildModel", m.model),
    saveSafetensors: typeof save === "function"
      ? save as Deps["saveSafetensors"]
      : undefined,
    loadFlowDataset: need(data, "loadFlowDataset", m.data),
    datasetInfo: typeof info === "function"
      ? info as Deps["datasetInfo"]
      : undefined,
    initBackend: need(runtime, "initBackend", m.runtime),
    train: need(train, "train", m.train),
    computeMetrics: need(metrics, "computeMetrics", m.metrics),
    writeReport: need(report, "writeReport", m.report),
  };
}

/** The dataset request of a spec. */
export function datasetRequest(spec: Experiment): DatasetRequest {
  const d = spec.dataset;
  const req: DatasetRequest = {
    name: d.name,
    imageSize: d.imageSize,
    channels: d.channels,
  };
  if (d.root !== undefined) req.root = d.root;
  if (d.cacheDir !== undefined) req.cacheDir = d.cacheDir;
  if (d.options != null) req.options = d.options;
  return req;
}

/** A planned experiment. */
export interface Prepared {
  /** the loaded dataset. */
  dataset: FlowDataset;
  /** the resolved variants, in plan order. */
  variants: ResolvedVariant[];
  /** every job of the plan. */
  jobs: Job[];
}

/**
 * Checks, before loading, that a real corpus has a root folder that
 * exists; the {@link DatasetError} says how to fix it
 * (`pass --data NAME=/path/to/NAME` when no root is given; a given root
 * that is not a folder is not `unavailable`: a dry run fails on it too).
 * Needs {@link Deps.datasetInfo} (without it nothing is checked here).
 */
export function checkDatasetRoot(
  spec: Experiment,
  deps: Pick<Deps, "datasetInfo">,
): void {
  const name = spec.dataset.name;
  const info = knowledgeOf(name, deps);
  if (info?.kind !== "corpus") return;
  const hint = `pass --data ${name}=/path/to/${name.toUpperCase()}`;
  const root = spec.dataset.root;
  if (root === undefined || root === "") {
    throw new DatasetError(
      name,
      `dataset "${name}" is a real corpus and the spec gives no root folder: ${hint} (or set dataset.root)`,
      true,
    );
  }
  let isDir = false;
  try {
    isDir = Deno.statSync(root).isDirectory;
  } catch {
    isDir = false;
  }
  if (!isDir) {
    // a root was given: a wrong path, not missing data (a dry run fails too)
    throw new DatasetError(
      name,
      `dataset "${name}": root ${root} does not exist or is not a folder (check the path given to --data or dataset.root)`,
    );
  }
}

function knowledgeOf(
  name: string,
  deps: Pick<Deps, "datasetInfo">,
): DatasetKnowledge | undefined {
  if (!deps.datasetInfo) return undefined;
  try {
    return deps.datasetInfo(name);
  } catch (e) {
    throw new DatasetError(name, (e as Error).message);
  }
}

/**
 * Loads the spec's dataset; any failure becomes a {@link DatasetError}
 * whose message names the dataset.
 */
export async function loadDataset(
  spec: Experiment,
  deps: Pick<Deps, "datasetInfo" | "loadFlowDataset">,
): Promise<FlowDataset> {
  checkDatasetRoot(spec, deps);
  const name = spec.dataset.name;
  try {
    return await deps.loadFlowDataset(datasetRequest(spec));
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    const message = (e as Error)?.message ?? String(e);
    throw new DatasetError(
      name,
      message.includes(`"${name}"`) ? message : `dataset "${name}": ${message}`,
    );
  }
}

/** Loads the dataset, resolves the variants (optionally only some) and plans the jobs. */
export async function prepare(
  spec: Experiment,
  deps: Deps,
  options: { variants?: string[]; file?: string } = {},
): Promise<Prepared> {
  const dataset = await loadDataset(spec, deps);
  const variants = resolveVariants(spec, deps, {
    classes: dataset.classes,
    only: options.variants,
    file: options.file,
  });
  checkPlanData(spec, dataset.samples, options.file);
  const folds = foldsFor(spec.protocol, dataset.samples);
  return { dataset, variants, jobs: planJobs(spec, variants, folds) };
}

/**
 * What `--dry-run` shows: a {@link Prepared} when the data can be loaded;
 * otherwise (a real corpus without a usable root) the variants and, for a
 * fixed split, the jobs (one per variant × seed; their ids do not depend on
 * the data), with `dataset` null and `unavailable` saying why.
 */
export interface PlanPreview {
  /** the loaded dataset, or null when it is not available. */
  dataset: FlowDataset | null;
  /** the resolved variants, in plan order. */
  variants: ResolvedVariant[];
  /** the jobs, or null when the folds need the data (LOSO, k-fold). */
  jobs: Job[] | null;
  /** why the data is not loaded (the {@link DatasetError}'s message). */
  unavailable?: string;
}

/**
 * Like {@link prepare}, but a dataset that is not there (see
 * {@link DatasetError.unavailable}) does not fail: the plan is made from
 * what the spec and the data layer's {@link Deps.datasetInfo} know.
 */
export async function previewPlan(
  spec: Experiment,
  deps: Deps,
  options: { variants?: string[]; file?: string } = {},
): Promise<PlanPreview> {
  try {
    return await prepare(spec, deps, options);
  } catch (e) {
    if (!(e instanceof DatasetError && e.unavailable)) throw e;
    const info = knowledgeOf(spec.dataset.name, deps);
    const variants = resolveVariants(spec, deps, {
      classes: info?.classes,
      only: options.variants,
      file: options.file,
    });
    checkPlanData(spec, null, options.file);
    const jobs = spec.protocol.kind === "fixedSplit"
      ? planJobs(spec, variants, foldsFor(spec.protocol, []))
      : null;
    return { dataset: null, variants, jobs, unavailable: e.message };
  }
}

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

/**
 * Assembles the report input from the finished jobs' records: per variant
 * × group, per seed the predictions of all folds concatenated. LOSO/k-fold
 * groups are `overall` plus each source (when `breakdownBy: source` and the
 * dataset has more than one source); a
 * fixed split's groups are its test splits. `report.groups` filters them.
 * Each row lists the kernel sets of its jobs (the store's record:
 * `done.json`'s `kernelSet`, derived from `job.json` for older records);
 * the reference
 * variant is `report.reference`, default the spec's last variant; the
 * bootstrap seed is derived by name from the spec's first seed.
 */
export function buildReportInput(
  spec: Experiment,
  prepared: Prepared,
  records: Map<string, JobRecord>,
): ReportInput {
  const rows: ReportRow[] = [];
  const curves: ReportInput["curves"] = [];
  const missing = prepared.jobs.filter((j) => !records.has(j.id)).length;
  for (const variant of prepared.variants) {
    const jobs = prepared.jobs.filter((j) => j.variant === variant.name);
    const bySeed = new Map<number, Prediction[]>();
    const jobKernels = new Set<string>();
    for (const job of jobs) {
      const rec = records.get(job.id);
      if (!rec) continue;
      jobKernels.add(rec.done.kernelSet ?? UNKNOWN_KERNEL_SET);
      const list = bySeed.get(job.seed) ?? [];
      list.push(...rec.predictions);
      bySeed.set(job.seed, list);
      curves.push({
        variant: variant.name,
        seed: job.seed,
        fold: job.fold.name,
        epochs: rec.epochs,
      });
    }
    const seeds = spec.seeds.filter((s) => bySeed.has(s));
    if (seeds.length === 0) continue;
    const groups: [string, (p: Prediction) => boolean][] = [];
    if (spec.protocol.kind === "fixedSplit") {
      for (const t of spec.protocol.tests) {
        groups.push([t, (p) => p.split === t]);
      }
    } else {
      groups.push(["overall", () => true]);
      if (spec.protocol.breakdownBy === "source") {
        const sources = [
          ...new Set(prepared.dataset.samples.map((s) => s.source)),
        ].sort();
        if (sources.length > 1) {
          for (const src of sources) {
            groups.push([src, (p) => p.source === src]);
          }
        }
      }
    }
    for (const [group, keep] of groups) {
      if (spec.report.groups && !spec.report.groups.includes(group)) continue;
      const predictionsBySeed = seeds.map((s) => bySeed.get(s)!.filter(keep))
        .filter((p) => p.length > 0);
      if (predictionsBySeed.length === 0) continue; // nothing finished yet
      const row: ReportRow = {
        variant: variant.name,
        group,
        predictionsBySeed,
        kernelSets: [...jobKernels].sort(),
      };
      const paper = spec.report.paper[variant.name]?.[group];
      if (paper) row.paper = paper;
      rows.push(row);
    }
  }
  const total = prepared.jobs.length;
  const status = missing === 0
    ? `all ${total} jobs finished`
    : `${missing} of ${total} jobs missing (partial results)`;
  return {
    name: spec.name,
    description: `${spec.description}${spec.description ? " — " : ""}${status}`,
    dataset: `${prepared.dataset.name} (${prepared.dataset.description})`,
    classes: prepared.dataset.classes,
    metrics: spec.report.metrics,
    rows,
    references: spec.report.references.filter((r) =>
      !spec.report.groups || spec.report.groups.includes(r.group)
    ),
    curves,
    ...(spec.report.groups ? { groups: [...spec.report.groups] } : {}),
    reference: spec.report.reference ?? [...expandVariants(spec).keys()].at(-1),
    bootstrap: { seed: deriveSeed(spec.seeds[0] ?? 0, "report-bootstrap") },
  };
}

/**
 * Reads the records of every finished job of a plan, verified against the
 * sizes and checksums in their `done.json` ({@link RunStore.check}). A
 * damaged job is refused: a {@link StoreError} naming the file, unless
 * `onDamaged` is given, which hears it instead (the job is left out).
 */
export async function readRecords(
  store: RunStore,
  jobs: Job[],
  onDamaged?: (job: Job, problem: string) => void,
): Promise<Map<string, JobRecord>> {
  const out = new Map<string, JobRecord>();
  for (const job of jobs) {
    let rec: JobRecord | null;
    try {
      rec = await store.read(job);
    } catch (e) {
      if (!onDamaged || !(e instanceof StoreError)) throw e;
      onDamaged(job, e.message);
      continue;
    }
    if (rec) out.set(job.id, rec);
  }
  return out;
}

/**
 * (Re)writes an experiment's report (`<store>/report/`) from whatever
 * records of its plan exist; writes nothing when no job has finished.
 * Returns the files written and how many jobs have records.
 */
export async function writeExperimentReport(
  spec: Experiment,
  prepared: Prepared,
  store: RunStore,
  deps: Pick<Deps, "writeReport">,
  options: {
    /** write the files (default true); false only reads the records. */
    write?: boolean;
    /** damaged finished jobs are reported here and left out (default: an error naming the file). */
    onDamaged?: (job: Job, problem: string) => void;
  } = {},
): Promise<{
  files: string[];
  finished: number;
  records: Map<string, JobRecord>;
  report: ReportInput;
}> {
  const records = await readRecords(store, prepared.jobs, options.onDamaged);
  const report = buildReportInput(spec, prepared, records);
  const files = records.size > 0 && options.write !== false
    ? await deps.writeReport(report, join(store.dir, "report"))
    : [];
  return { files, finished: records.size, records, report };
}

/** Options of {@link runExperiment}. */
export interface RunExperimentOptions {
  /** run store root (default `runs`). */
  outDir?: string;
  /** only these variants. */
  variants?: string[];
  /** parallel workers (1: in this thread). */
  jobs?: number;
  /** run only this shard (1-based index). */
  shard?: { index: number; count: number };
  /**
   * run only the jobs with these ids (a Slurm array task's jobs); an id
   * that is not in the plan is an error.
   */
  jobIds?: string[];
  /** stops cleanly: finished jobs are kept, in-flight ones abandoned. */
  signal?: AbortSignal;
  /** dependencies (default: {@link loadDeps} of `depsModule`). */
  deps?: Deps;
  /** module exporting `deps`, imported by workers (and here when `deps` is absent). */
  depsModule?: string;
  /** the spec file (for error messages). */
  file?: string;
  /** show progress bars (default: when stdout and stderr are terminals). */
  progress?: boolean;
  /**
   * where plain progress lines go when bars are off (CI logs, pipes,
   * Slurm; see `dsl/progress.ts`); none when absent.
   */
  log?: (line: string) => void;
  /**
   * called once the plan is made, before any job runs: the prepared
   * experiment, the jobs left to run and the parallel workers.
   */
  onPlan?: (
    plan: { prepared: Prepared; pending: Job[]; workers: number },
  ) => void;
  /** skip the backend initialisation in this thread (tests). */
  skipBackendInit?: boolean;
  /**
   * a finished job whose files are damaged (missing, truncated, changed
   * since `done.json` recorded them) fails, naming the file, instead of
   * being redone.
   */
  noRedo?: boolean;
  /**
   * run even when finished jobs of the store ran on another kernel set
   * (see {@link checkKernelSets}); the report then mixes kernel sets.
   */
  allowMixedKernels?: boolean;
  /** write the report (default true; Slurm array tasks leave it to the submitter). */
  report?: boolean;
}

/** What a run did. */
export interface RunSummary {
  /** jobs in the plan (all shards). */
  planned: number;
  /** jobs of this shard. */
  selected: number;
  /** already finished before this run. */
  skipped: number;
  /** finished by this run. */
  ran: number;
  /** failed, with their errors. */
  failed: {
    id: string;
    variant: string;
    fold: string;
    seed: number;
    error: string;
  }[];
  /** jobs of the plan without records after this run. */
  missing: number;
  /** jobs of this shard skipped because another live process had claimed them. */
  elsewhere: number;
  /**
   * finished jobs found damaged (the problem names the file): redone, or
   * with `noRedo` failed.
   */
  damaged: {
    id: string;
    variant: string;
    fold: string;
    seed: number;
    problem: string;
    /** whether the job's records are intact again after this run. */
    redone: boolean;
  }[];
  /** why the report could not be written (the records are kept). */
  reportError?: string;
  /** true when stopped by the signal. */
  interrupted: boolean;
  /** report files written. */
  reportFiles: string[];
  /** what the report was built from (null when no job has finished). */
  report: ReportInput | null;
  /** the experiment's run folder. */
  dir: string;
}

/** Runs an experiment (see the module doc) and writes its report. */
export async function runExperiment(
  spec: Experiment,
  options: RunExperimentOptions = {},
): Promise<RunSummary> {
  const deps = options.deps ?? await loadDeps(options.depsModule);
  const outDir = options.outDir ?? "runs";
  const store = new RunStore(outDir, spec.name);
  await store.checkWritable();
  const prepared = await prepare(spec, deps, {
    variants: options.variants,
    file: options.file,
  });
  let selected = options.shard
    ? shardJobs(prepared.jobs, options.shard.index, options.shard.count)
    : prepared.jobs;
  const failed: RunSummary["failed"] = [];
  const damaged: RunSummary["damaged"] = [];
  if (options.jobIds) {
    const ids = new Set(options.jobIds);
    const unknown = [...ids].filter((id) => !selected.some((j) => j.id === id));
    if (unknown.length > 0) {
      throw new Error(
        `job ${unknown.join(", ")} is not in the plan of ${
          options.file ?? spec.name
        } (were the spec or its flags changed since the submission?)`,
      );
    }
    selected = selected.filter((j) => ids.has(j.id));
  }
  const pending: Job[] = [];
  let skipped = 0;
  for (const job of selected) {
    const state = await store.check(job);
    if (state.state === "done") {
      skipped++;
      continue;
    }
    if (state.state === "damaged") {
      damaged.push({ ...jobRef(job), problem: state.problem, redone: false });
      if (options.noRedo) {
        failed.push({
          ...jobRef(job),
          error:
            `${state.problem} (a finished job's record is damaged; rerun without --no-redo to redo it)`,
        });
        continue;
      }
    }
    pending.push(job);
  }
  // what initBackend reports (backend, versions, BLAS) goes in job.json;
  // its kernel set must match the finished jobs'
  let context: RunContext | undefined;
  if (pending.length > 0) {
    context = await runContext(
      options.skipBackendInit
        ? undefined
        : await deps.initBackend(spec.backend),
    );
    if (!options.allowMixedKernels) {
      await checkKernelSets(store, prepared.jobs, context.kernelSet);
    }
  }
  const workers = Math.max(1, Math.min(options.jobs ?? 1, pending.length));
  options.onPlan?.({ prepared, pending, workers });
  const { ProgressView } = await import("./progress.ts");
  const progress = new ProgressView(
    pending.length,
    options.progress ??
      (Deno.stdout.isTerminal() && Deno.stderr.isTerminal()),
    options.log,
  );
  // jobs are claimed one at a time, just before they run: other processes
  // on the same store skip them (and this one skips theirs)
  const held = new Map<string, JobClaim>();
  const releases: Promise<void>[] = [];
  let elsewhere = 0;
  const gate = {
    take: async (job: Job): Promise<boolean> => {
      const claim = await store.claim(job);
      if (!claim) {
        elsewhere++;
        return false;
      }
      if ((await store.check(job)).state === "done") {
        // finished by another process since the scan
        skipped++;
        await claim.release();
        return false;
      }
      held.set(job.id, claim);
      return true;
    },
    end: (job: Job): void => {
      const claim = held.get(job.id);
      held.delete(job.id);
      if (claim) releases.push(claim.release().catch(() => {}));
    },
  };
  let ran = 0;
  try {
    if (pending.length > 0 && workers > 1) {
      const { runInWorkers } = await import("./workers.ts");
      const res = await runInWorkers(pending, {
        spec,
        outDir,
        workers,
        depsModule: options.depsModule,
        signal: options.signal,
        progress,
        gate,
      });
      ran = res.finished;
      failed.push(...res.failed);
    } else if (pending.length > 0) {
      for (const [k, job] of pending.entries()) {
        if (options.signal?.aborted) break;
        let taken: boolean;
        try {
          taken = await gate.take(job);
        } catch (e) {
          failed.push({ ...jobRef(job), error: `cannot start: ${e}` });
          continue;
        }
        if (!taken) continue;
        progress.startJob(job);
        try {
          await executeJob(job, prepared.dataset, deps, store, {
            signal: options.signal,
            onStep: (s, t) => progress.step(job, s, t),
            onEpoch: (record) => progress.epoch(job, record),
          }, context);
          ran++;
          progress.endJob(job, true);
        } catch (e) {
          progress.endJob(job, false);
          if (e instanceof JobAbortedError || options.signal?.aborted) break;
          failed.push({ ...jobRef(job), error: describeJobFailure(job, e) });
          const rest = pending.slice(k + 1);
          if (isBackendMemoryError(e) && rest.length > 0) {
            // a wasm abort leaves this isolate's backend unusable: the
            // remaining jobs run in a fresh worker when the dependencies
            // can be loaded there, else they are left for the next run
            if (
              options.depsModule !== undefined || options.deps === undefined
            ) {
              gate.end(job);
              const { runInWorkers } = await import("./workers.ts");
              const res = await runInWorkers(rest, {
                spec,
                outDir,
                workers: 1,
                depsModule: options.depsModule,
                signal: options.signal,
                progress,
                gate,
              });
              ran += res.finished;
              failed.push(...res.failed);
            } else {
              for (const j of rest) {
                failed.push({
                  ...jobRef(j),
                  error:
                    `not run: the backend was lost when job ${job.id} ran out of memory; run again to do the remaining jobs (finished ones are kept)`,
                });
              }
            }
            break;
          }
        } finally {
          gate.end(job);
        }
      }
    }
  } finally {
    progress.stop();
    for (const job of [...held.keys()]) gate.end({ id: job } as Job);
    await Promise.all(releases);
  }
  // the report, from whatever is finished (other processes' jobs too);
  // written again while records keep appearing meanwhile, so the last
  // process to finish leaves the complete report
  let records = new Map<string, JobRecord>();
  let reportFiles: string[] = [];
  let reportError: string | undefined;
  let lastReport: ReportInput | null = null;
  const late = new Map<string, string>();
  try {
    for (let round = 0; round < 5; round++) {
      records = await readRecords(
        store,
        prepared.jobs,
        (job, problem) => late.set(job.id, problem),
      );
      lastReport = buildReportInput(spec, prepared, records);
      reportFiles = records.size > 0 && options.report !== false
        ? await deps.writeReport(lastReport, join(store.dir, "report"))
        : [];
      let now = 0;
      for (const job of prepared.jobs) {
        if ((await store.check(job)).state === "done") now++;
      }
      if (now === records.size) break;
    }
  } catch (e) {
    reportFiles = [];
    reportError = (e as Error)?.message ?? String(e);
  }
  for (const job of prepared.jobs) {
    const problem = late.get(job.id);
    if (problem && !damaged.some((d) => d.id === job.id)) {
      damaged.push({ ...jobRef(job), problem, redone: false });
    }
  }
  for (const d of damaged) d.redone = records.has(d.id);
  return {
    planned: prepared.jobs.length,
    selected: selected.length,
    skipped,
    ran,
    failed,
    missing: prepared.jobs.length - records.size,
    elsewhere,
    damaged,
    interrupted: options.signal?.aborted ?? false,
    reportFiles,
    ...(reportError !== undefined ? { reportError } : {}),
    report: records.size > 0 ? lastReport : null,
    dir: store.dir,
  };
}

function jobRef(
  job: Job,
): { id: string; variant: string; fold: string; seed: number } {
  return {
    id: job.id,
    variant: job.variant,
    fold: job.fold.name,
    seed: job.seed,
  };
}

/**
 * Refuses to add jobs of kernel set `current` to a store whose finished
 * jobs (of `jobs`) ran on another one: a {@link StoreError} naming both
 * sets and a job, and the way out (`--allow-mixed-kernels`). Jobs whose
 * kernel set is unknown (no backend recorded) are not compared.
 */
export async function checkKernelSets(
  store: RunStore,
  jobs: Job[],
  current: string,
): Promise<void> {
  if (current === UNKNOWN_KERNEL_SET) return;
  for (const job of jobs) {
    const state = await store.check(job);
    if (state.state !== "done") continue;
    const theirs = state.kernelSet;
    if (theirs === UNKNOWN_KERNEL_SET || theirs === current) continue;
    throw new StoreError(
      `${
        store.jobDir(job)
      }: job ${job.id} (${job.variant}, seed ${job.seed}, fold ${job.fold.name}) finished on kernel set "${theirs}", and this run uses "${current}"; one table would mix results of both (rerun with the setting that made it, e.g. MERBA_BLAS or --backend, use another --out, or pass --allow-mixed-kernels)`,
    );
  }
}

/**
 * The `--dry-run` text: the resolved spec (JSON), each variant's parameter
 * count, and the job plan (id, variant, seed, fold, and whether it is
 * finished) — a shard's jobs when `shard` is given. Without the data (a
 * {@link PlanPreview} with `dataset` null) it says so and how to give it;
 * a LOSO/k-fold plan then says there is one fold per subject (or k folds),
 * listed once the data is available.
 */
export async function formatPlan(
  spec: Experiment,
  prepared: PlanPreview,
  lib: Pick<ModelLibrary, "countParams">,
  options: { outDir?: string; shard?: { index: number; count: number } } = {},
): Promise<string> {
  const store = new RunStore(options.outDir ?? "runs", spec.name);
  const lines: string[] = [];
  const { presets: _presets, ...shown } = spec;
  lines.push("resolved spec:", JSON.stringify(shown, null, 2), "");
  const ds = prepared.dataset;
  if (ds) {
    lines.push(`dataset: ${ds.name} — ${ds.description}`);
    lines.push(
      `         ${ds.samples.length} samples, ${
        new Set(ds.samples.map((s) => s.subject)).size
      } subjects, classes ${ds.classes.join("/")}`,
    );
  } else {
    lines.push(
      `dataset: ${spec.dataset.name} — not loaded: ${
        prepared.unavailable ?? "not available"
      }`,
    );
  }
  lines.push("", "variants:");
  for (const v of prepared.variants) {
    const params = lib.countParams
      ? lib.countParams(v.modelConfig).toLocaleString("en-US")
      : "?";
    lines.push(
      `  ${v.name.padEnd(28)} ${
        params.padStart(13)
      } params  ${v.modelConfig.family} head=${v.modelConfig.head} scans=${
        v.modelConfig.scans.join(",")
      } epochs=${v.recipe.epochs} lr=${v.recipe.optimizer.lr}${
        v.description ? `  — ${v.description}` : ""
      }`,
    );
  }
  if (prepared.jobs === null) {
    const p = spec.protocol;
    const folds = p.kind === "kfold"
      ? `${p.k} folds of subjects`
      : "one fold per subject";
    lines.push(
      "",
      `plan: ${prepared.variants.length} variants × ${spec.seeds.length} seeds × ${folds} — folds are listed once the data is available (pass --data ${spec.dataset.name}=ROOT)`,
      `      run folder ${store.dir}/<id>/`,
    );
    return lines.join("\n");
  }
  const jobs = options.shard
    ? shardJobs(prepared.jobs, options.shard.index, options.shard.count)
    : prepared.jobs;
  const folds = new Set(prepared.jobs.map((j) => j.fold.name)).size;
  lines.push(
    "",
    `plan: ${prepared.variants.length} variants × ${spec.seeds.length} seeds × ${folds} folds = ${prepared.jobs.length} jobs` +
      (options.shard
        ? `; shard ${options.shard.index}/${options.shard.count}: ${jobs.length} jobs`
        : ""),
    `      run folder ${store.dir}/<id>/`,
  );
  let done = 0;
  for (const job of jobs) {
    const finished = await store.isDone(job);
    if (finished) done++;
    lines.push(
      `  ${job.id}  ${job.variant.padEnd(28)} seed ${
        String(job.seed).padEnd(6)
      } fold ${job.fold.name.padEnd(16)} ${finished ? "done" : "todo"}`,
    );
  }
  lines.push(`${done} of ${jobs.length} jobs already finished`);
  if (!ds) {
    lines.push(
      `(the data is not loaded: the jobs above need it to run — pass --data ${spec.dataset.name}=ROOT)`,
    );
  }
  return lines.join("\n");
}
