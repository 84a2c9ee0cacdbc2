/**
 * The interpreter: loads the dataset once, resolves and plans the jobs,
 * skips finished ones, runs the rest (serially or in parallel workers),
 * stores their records, and (re)builds the report from whatever records
 * exist; and the `--dry-run` text of a plan ({@link formatPlan}).
 *
 * Everything it needs from the model library, the data layer and the
 * engine comes through a {@link Deps} object (`dsl/deps.ts`): the project's
 * own modules, or stand-ins (tests).
 *
 * @module
 */
import { type Deps, loadDeps } from "./deps.ts";
import { StoreError } from "./errors.ts";
import {
  describeJobFailure,
  executeJob,
  isBackendMemoryError,
  JobAbortedError,
} from "./execute.ts";
import { type Job, type ModelLibrary, shardJobs } from "./plan.ts";
import { type PlanPreview, prepare, type Prepared } from "./prepare.ts";
import type { ProgressView } from "./progress.ts";
import { readReportInput, writeReportFiles } from "./report_input.ts";
import type { ReportInput } from "./report/types.ts";
import type { Experiment } from "./schema.ts";
import {
  type JobClaim,
  type JobRecord,
  type RunContext,
  runContext,
  RunStore,
  UNKNOWN_KERNEL_SET,
} from "./store.ts";
import { type JobGate, runInWorkers } from "./workers.ts";

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
   * what `deps.initBackend(spec.backend)` already returned in this thread
   * (the CLI names the kernel set before the run): recorded as is, without
   * initialising the backend again.
   */
  backend?: unknown;
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
  const selected = selectJobs(spec, prepared.jobs, options);
  const tally: Tally = {
    skipped: 0,
    ran: 0,
    elsewhere: 0,
    failed: [],
    damaged: [],
  };
  const pending = await pendingJobs(store, selected, tally, options.noRedo);
  // what initBackend reports (backend, versions, BLAS) goes in job.json;
  // its kernel set must match the finished jobs'
  let context: RunContext | undefined;
  if (pending.length > 0) {
    context = await runContext(
      options.skipBackendInit
        ? undefined
        : options.backend ?? await deps.initBackend(spec.backend),
    );
    if (!options.allowMixedKernels) {
      await checkKernelSets(store, prepared.jobs, context.kernelSet);
    }
  }
  const workers = Math.max(1, Math.min(options.jobs ?? 1, pending.length));
  options.onPlan?.({ prepared, pending, workers });
  // progress.ts loads cli-progress: only when jobs are about to run
  const { ProgressView } = await import("./progress.ts");
  const progress = new ProgressView(
    pending.length,
    options.progress ??
      (Deno.stdout.isTerminal() && Deno.stderr.isTerminal()),
    options.log,
  );
  const claims = new ClaimGate(store, tally);
  const pool = {
    spec,
    outDir,
    depsModule: options.depsModule,
    signal: options.signal,
    progress,
    gate: claims,
  };
  try {
    if (pending.length > 0 && workers > 1) {
      const res = await runInWorkers(pending, { ...pool, workers });
      tally.ran = res.finished;
      tally.failed.push(...res.failed);
    } else if (pending.length > 0) {
      await runSerially(pending, {
        ...pool,
        dataset: prepared.dataset,
        deps,
        store,
        context,
        tally,
        // after a backend memory error the remaining jobs need a fresh
        // worker, which can load the dependencies only from a module
        freshWorker: options.depsModule !== undefined ||
          options.deps === undefined,
      });
    }
  } finally {
    progress.stop();
    await claims.releaseAll();
  }
  const report = await reportRounds(spec, prepared, store, deps, tally, {
    write: options.report !== false,
  });
  return {
    planned: prepared.jobs.length,
    selected: selected.length,
    skipped: tally.skipped,
    ran: tally.ran,
    failed: tally.failed,
    missing: prepared.jobs.length - report.records.size,
    elsewhere: tally.elsewhere,
    damaged: tally.damaged,
    interrupted: options.signal?.aborted ?? false,
    reportFiles: report.files,
    ...(report.error !== undefined ? { reportError: report.error } : {}),
    report: report.records.size > 0 ? report.input : null,
    dir: store.dir,
  };
}

/** What a run counts as it goes (see {@link RunSummary}). */
interface Tally {
  skipped: number;
  ran: number;
  elsewhere: number;
  failed: RunSummary["failed"];
  damaged: RunSummary["damaged"];
}

/** The jobs of the plan this run is asked for: its shard, its job ids. */
function selectJobs(
  spec: Experiment,
  jobs: Job[],
  options: Pick<RunExperimentOptions, "shard" | "jobIds" | "file">,
): Job[] {
  let selected = options.shard
    ? shardJobs(jobs, options.shard.index, options.shard.count)
    : jobs;
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
  return selected;
}

/**
 * The selected jobs still to run: finished ones are counted as skipped;
 * damaged ones are redone, or with `noRedo` failed.
 */
async function pendingJobs(
  store: RunStore,
  selected: Job[],
  tally: Tally,
  noRedo?: boolean,
): Promise<Job[]> {
  const pending: Job[] = [];
  for (const job of selected) {
    const state = await store.check(job);
    if (state.state === "done") {
      tally.skipped++;
      continue;
    }
    if (state.state === "damaged") {
      tally.damaged.push({
        ...jobRef(job),
        problem: state.problem,
        redone: false,
      });
      if (noRedo) {
        tally.failed.push({
          ...jobRef(job),
          error:
            `${state.problem} (a finished job's record is damaged; rerun without --no-redo to redo it)`,
        });
        continue;
      }
    }
    pending.push(job);
  }
  return pending;
}

/**
 * Jobs are claimed one at a time, just before they run: other processes
 * on the same store skip them (and this one skips theirs).
 */
class ClaimGate implements JobGate {
  #held = new Map<string, JobClaim>();
  #releases: Promise<void>[] = [];

  constructor(private store: RunStore, private tally: Tally) {}

  async take(job: Job): Promise<boolean> {
    const claim = await this.store.claim(job);
    if (!claim) {
      this.tally.elsewhere++;
      return false;
    }
    if ((await this.store.check(job)).state === "done") {
      // finished by another process since the scan
      this.tally.skipped++;
      await claim.release();
      return false;
    }
    this.#held.set(job.id, claim);
    return true;
  }

  end(job: Job): void {
    const claim = this.#held.get(job.id);
    this.#held.delete(job.id);
    if (claim) this.#releases.push(claim.release().catch(() => {}));
  }

  /** Releases the claims still held and waits for every release. */
  async releaseAll(): Promise<void> {
    for (const id of [...this.#held.keys()]) this.end({ id } as Job);
    await Promise.all(this.#releases);
  }
}

/** Runs jobs one after another in this thread. */
async function runSerially(pending: Job[], run: {
  spec: Experiment;
  outDir: string;
  depsModule?: string;
  signal?: AbortSignal;
  progress: ProgressView;
  gate: ClaimGate;
  dataset: Prepared["dataset"];
  deps: Deps;
  store: RunStore;
  context?: RunContext;
  tally: Tally;
  freshWorker: boolean;
}): Promise<void> {
  const { gate, progress, signal, tally } = run;
  for (const [k, job] of pending.entries()) {
    if (signal?.aborted) break;
    let taken: boolean;
    try {
      taken = await gate.take(job);
    } catch (e) {
      tally.failed.push({ ...jobRef(job), error: `cannot start: ${e}` });
      continue;
    }
    if (!taken) continue;
    progress.startJob(job);
    try {
      await executeJob(job, run.dataset, run.deps, run.store, {
        signal,
        onStep: (s, t) => progress.step(job, s, t),
        onEpoch: (record) => progress.epoch(job, record),
      }, run.context);
      tally.ran++;
      progress.endJob(job, true);
    } catch (e) {
      progress.endJob(job, false);
      if (e instanceof JobAbortedError || signal?.aborted) break;
      tally.failed.push({ ...jobRef(job), error: describeJobFailure(job, e) });
      const rest = pending.slice(k + 1);
      if (isBackendMemoryError(e) && rest.length > 0) {
        // a wasm abort leaves this isolate's backend unusable: the
        // remaining jobs run in a fresh worker when the dependencies
        // can be loaded there, else they are left for the next run
        if (run.freshWorker) {
          gate.end(job);
          const res = await runInWorkers(rest, {
            spec: run.spec,
            outDir: run.outDir,
            workers: 1,
            depsModule: run.depsModule,
            signal,
            progress,
            gate,
          });
          tally.ran += res.finished;
          tally.failed.push(...res.failed);
        } else {
          for (const j of rest) {
            tally.failed.push({
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

/**
 * The report, from whatever is finished (other processes' jobs too);
 * written again while records keep appearing meanwhile, so the last
 * process to finish leaves the complete report. Damaged records found
 * here are added to `tally.damaged`; each damaged job is marked redone
 * when its records are intact now.
 */
async function reportRounds(
  spec: Experiment,
  prepared: Prepared,
  store: RunStore,
  deps: Pick<Deps, "writeReport">,
  tally: Tally,
  options: { write: boolean },
): Promise<{
  records: Map<string, JobRecord>;
  files: string[];
  input: ReportInput | null;
  error?: string;
}> {
  let records = new Map<string, JobRecord>();
  let files: string[] = [];
  let error: string | undefined;
  let input: ReportInput | null = null;
  const late = new Map<string, string>();
  try {
    for (let round = 0; round < 5; round++) {
      // read first: a report that cannot be written still counts the records
      const read = await readReportInput(
        spec,
        prepared,
        store,
        (job, problem) => late.set(job.id, problem),
      );
      records = read.records;
      input = read.report;
      files = await writeReportFiles(read, store, deps, options.write);
      let now = 0;
      for (const job of prepared.jobs) {
        if ((await store.check(job)).state === "done") now++;
      }
      if (now === records.size) break;
    }
  } catch (e) {
    files = [];
    error = (e as Error)?.message ?? String(e);
  }
  for (const job of prepared.jobs) {
    const problem = late.get(job.id);
    if (problem && !tally.damaged.some((d) => d.id === job.id)) {
      tally.damaged.push({ ...jobRef(job), problem, redone: false });
    }
  }
  for (const d of tally.damaged) d.redone = records.has(d.id);
  return { records, files, input, ...(error !== undefined ? { error } : {}) };
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
