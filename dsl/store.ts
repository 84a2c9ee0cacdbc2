/**
 * The run store: one folder per job, `runs/<experiment>/<job id>/`, holding
 *
 * - `job.json` — the resolved job, its seeds, the backend as `initBackend`
 *   reported it (name, threads, versions, BLAS setting: whether OpenBLAS
 *   served the matmuls and convolution gradients and with how many
 *   threads, notes), package versions and git commit (written when the job
 *   starts);
 * - `epochs.jsonl` — one line per finished epoch (rewritten after each);
 * - `predictions.json`, `metrics.json`, `weights.safetensors`;
 * - `done.json` — written LAST, naming the job hash.
 *
 * Every file is written atomically (a temporary file in the same folder,
 * flushed, then renamed over the target), so a reader sees either the old
 * or the new content, never a torn file. A job counts as finished only when
 * `done.json` exists and names the job's hash: killing the process at any
 * moment loses at most the jobs in flight, which are redone on the next
 * run (their partial files are overwritten).
 *
 * @module
 */
import { dirname, join } from "node:path";
import type { EpochRecord, Metrics, Prediction } from "./engine_types.ts";
import { StoreError } from "./errors.ts";
import type { Job } from "./plan.ts";

/** File names inside a job folder. */
export const JOB_FILES = {
  job: "job.json",
  epochs: "epochs.jsonl",
  predictions: "predictions.json",
  metrics: "metrics.json",
  weights: "weights.safetensors",
  done: "done.json",
} as const;

let tmpCounter = 0;

/**
 * Writes `data` to `path` atomically: temp file in the same folder, data
 * flushed to disk, then renamed over `path`. Creates the folder if needed.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${++tmpCounter}`;
  const bytes = typeof data === "string"
    ? new TextEncoder().encode(data)
    : data;
  const file = await Deno.open(tmp, {
    write: true,
    create: true,
    truncate: true,
  });
  try {
    try {
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    // a full disk or a failed rename: leave no partial temporary file
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Writes JSON (2-space indented) atomically. */
export async function writeJsonAtomic(
  path: string,
  value: unknown,
): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** Where and with what a job ran. */
export interface RunContext {
  /** `git rev-parse HEAD`, or null outside a git checkout. */
  gitCommit: string | null;
  /** Deno, V8, TypeScript and TF.js versions (with the backend's). */
  versions: Record<string, string>;
  /** ISO time the job started. */
  startedAt: string;
  /** host name. */
  host: string;
  /**
   * the backend as `initBackend` reported it (model/runtime.ts'
   * `BackendInfo`): its name, threads, SIMD, package versions, BLAS
   * setting (`blas`: library path, build, sgemm threads and kernels, or
   * null when TensorFlow.js' own kernels ran) and notes; null when the
   * caller set the backend up itself.
   */
  backend: {
    name: string;
    threads?: number;
    simd?: boolean;
    versions?: Record<string, string>;
    blas?: {
      path: string;
      config: string;
      threads: number;
      kernels: string[];
    } | null;
    notes?: string[];
  } | null;
}

/**
 * What an `initBackend` result is recorded as: an object with a string
 * `name` is kept (as JSON), a bare name becomes `{ name }`, anything else
 * null.
 */
function backendRecord(info: unknown): RunContext["backend"] {
  if (typeof info === "string") return { name: info };
  if (
    info === null || typeof info !== "object" ||
    typeof (info as { name?: unknown }).name !== "string"
  ) {
    return null;
  }
  return JSON.parse(JSON.stringify(info));
}

/**
 * Collects the run context (tolerates a missing git).
 *
 * @param backend what `initBackend` returned for the jobs' backend
 *   (model/runtime.ts' `BackendInfo`); recorded as
 *   {@link RunContext.backend}, its `versions` merged into the context's.
 *   Omitted: the backend is recorded as null.
 */
export async function runContext(backend?: unknown): Promise<RunContext> {
  let gitCommit: string | null = null;
  try {
    const out = await new Deno.Command("git", {
      args: ["rev-parse", "HEAD"],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (out.success) {
      gitCommit = new TextDecoder().decode(out.stdout).trim() || null;
    }
  } catch {
    gitCommit = null;
  }
  const versions: Record<string, string> = {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
  };
  try {
    const tf = await import("@tensorflow/tfjs");
    versions.tfjs = tf.version.tfjs;
  } catch {
    // tfjs unavailable: leave it out
  }
  const record = backendRecord(backend);
  const extra = record?.versions;
  return {
    gitCommit,
    versions: {
      ...(extra && typeof extra === "object" && !Array.isArray(extra)
        ? extra
        : {}),
      ...versions,
    },
    startedAt: new Date().toISOString(),
    host: Deno.hostname(),
    backend: record,
  };
}

/** What `done.json` holds. */
export interface DoneRecord {
  /** the job's full hash. */
  hash: string;
  /** ISO time it finished. */
  finishedAt: string;
  /** wall time of the job. */
  seconds: number;
  /** the epoch whose weights were kept. */
  bestEpoch: number;
  /** whether early stopping ended training. */
  stoppedEarly: boolean;
}

/** A finished job's records, as read back. */
export interface JobRecord {
  /** `done.json`. */
  done: DoneRecord;
  /** `predictions.json`. */
  predictions: Prediction[];
  /** `metrics.json`: metrics per test split. */
  metrics: Record<string, Metrics>;
  /** `epochs.jsonl`. */
  epochs: EpochRecord[];
}

/** What a finished job hands to the store. */
export interface JobOutcome {
  /** predictions on every test split. */
  predictions: Prediction[];
  /** metrics per test split. */
  metrics: Record<string, Metrics>;
  /** the epoch log. */
  epochs: EpochRecord[];
  /** the epoch whose weights were kept. */
  bestEpoch: number;
  /** whether early stopping ended training. */
  stoppedEarly: boolean;
  /** wall time of the job. */
  seconds: number;
}

async function readJson(path: string): Promise<unknown> {
  const text = await Deno.readTextFile(path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new StoreError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** The records of one experiment under a run root. */
export class RunStore {
  /** `<root>/<experiment>`. */
  readonly dir: string;

  /**
   * Opens the records of `experiment` under `root` (nothing is read yet).
   *
   * @param root the run root (`--out`, default `runs`).
   * @param experiment the experiment name.
   */
  constructor(root: string, experiment: string) {
    this.dir = join(root, experiment);
  }

  /** The folder of a job. */
  jobDir(job: Pick<Job, "id">): string {
    return join(this.dir, job.id);
  }

  /** A file of a job. */
  path(job: Pick<Job, "id">, file: keyof typeof JOB_FILES): string {
    return join(this.jobDir(job), JOB_FILES[file]);
  }

  /** True when the job finished: `done.json` exists and names its hash. */
  async isDone(job: Pick<Job, "id" | "hash">): Promise<boolean> {
    const path = this.path(job, "done");
    if (!(await exists(path))) return false;
    try {
      const done = await readJson(path) as Partial<DoneRecord>;
      return done.hash === job.hash;
    } catch {
      return false;
    }
  }

  /**
   * Starts a job: removes a stale `done.json` and the temporary files an
   * interrupted run may have left, then writes `job.json`.
   */
  async start(job: Job, context: RunContext): Promise<void> {
    await Deno.mkdir(this.jobDir(job), { recursive: true });
    await Deno.remove(this.path(job, "done")).catch(() => {});
    for await (const e of Deno.readDir(this.jobDir(job))) {
      if (e.isFile && /\.tmp-\d+-\d+$/.test(e.name)) {
        await Deno.remove(join(this.jobDir(job), e.name)).catch(() => {});
      }
    }
    await writeJsonAtomic(this.path(job, "job"), { ...job, context });
  }

  /** Rewrites `epochs.jsonl` with the epochs so far. */
  async writeEpochs(
    job: Pick<Job, "id">,
    epochs: EpochRecord[],
  ): Promise<void> {
    await writeFileAtomic(
      this.path(job, "epochs"),
      epochs.map((e) => JSON.stringify(e) + "\n").join(""),
    );
  }

  /**
   * Writes the weights through `write(tmpPath)` (e.g. the model library's
   * `saveSafetensors`), then renames the file into place.
   */
  async writeWeights(
    job: Pick<Job, "id">,
    write: (path: string) => Promise<void>,
  ): Promise<void> {
    const target = this.path(job, "weights");
    const tmp = `${target}.tmp-${Deno.pid}-${++tmpCounter}`;
    await write(tmp);
    await Deno.rename(tmp, target);
  }

  /** Writes a finished job's records, `done.json` last. */
  async finish(
    job: Pick<Job, "id" | "hash">,
    outcome: JobOutcome,
  ): Promise<void> {
    await writeJsonAtomic(this.path(job, "predictions"), outcome.predictions);
    await writeJsonAtomic(this.path(job, "metrics"), outcome.metrics);
    await this.writeEpochs(job, outcome.epochs);
    const done: DoneRecord = {
      hash: job.hash,
      finishedAt: new Date().toISOString(),
      seconds: outcome.seconds,
      bestEpoch: outcome.bestEpoch,
      stoppedEarly: outcome.stoppedEarly,
    };
    await writeJsonAtomic(this.path(job, "done"), done);
  }

  /** A finished job's records, or null when it has not finished. */
  async read(job: Pick<Job, "id" | "hash">): Promise<JobRecord | null> {
    if (!(await this.isDone(job))) return null;
    const done = await readJson(this.path(job, "done")) as DoneRecord;
    const predictions = await readJson(this.path(job, "predictions"));
    if (!Array.isArray(predictions)) {
      throw new StoreError(
        `${this.path(job, "predictions")}: expected a list of predictions`,
      );
    }
    const metrics = await readJson(this.path(job, "metrics")) as Record<
      string,
      Metrics
    >;
    const text = await Deno.readTextFile(this.path(job, "epochs"));
    const epochs = text.split("\n").filter((l) => l.trim()).map((l, i) => {
      try {
        return JSON.parse(l) as EpochRecord;
      } catch {
        throw new StoreError(
          `${this.path(job, "epochs")}: line ${i + 1} is not JSON`,
        );
      }
    });
    return { done, predictions: predictions as Prediction[], metrics, epochs };
  }
}
