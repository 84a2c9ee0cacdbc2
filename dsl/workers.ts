/**
 * Parallel jobs: independent jobs run in Deno Workers, each with its own
 * TF.js backend, dataset copy and run-store writer. A worker takes the next
 * job from a shared queue when it finishes one. Each job's numbers depend
 * only on its own seeds, so the results are identical to a serial run.
 *
 * Stopping (the signal): each worker is asked to stop its job at the next
 * step boundary and is terminated once it says it has (or after
 * {@link WorkerPoolOptions.stopGraceMs}), so no computation is cut off in the
 * middle (a worker ended inside an OpenBLAS call can hang the process's
 * exit); in-flight jobs have no `done.json` and are redone on the next run.
 *
 * @module
 */
import type { Job } from "./plan.ts";
import type { ProgressView } from "./progress.ts";
import type { Experiment } from "./schema.ts";
import type {
  WorkerInit,
  WorkerJob,
  WorkerReply,
  WorkerStop,
} from "./worker_main.ts";
import { describeJobFailure, isBackendMemoryError } from "./execute.ts";

const WORKER_TAG = "merba-dsl-worker"; // = worker_main.ts WORKER_TAG

/** Options of {@link runInWorkers}. */
export interface WorkerPoolOptions {
  /** the resolved spec (workers load its dataset). */
  spec: Experiment;
  /** the run store root. */
  outDir: string;
  /** number of workers. */
  workers: number;
  /** module exporting `deps` for the workers (default: the project's modules). */
  depsModule?: string;
  /** stops the workers; their in-flight jobs stay unfinished. */
  signal?: AbortSignal;
  /**
   * after the signal, how long a worker may take to reach its job's next
   * step boundary before it is terminated anyway (default
   * {@link STOP_GRACE_MS}).
   */
  stopGraceMs?: number;
  /** progress display. */
  progress?: ProgressView;
  /**
   * decides, just before a job is handed to a worker, whether this
   * process runs it (e.g. claims it in the run store), and hears when it
   * ended; without it every job runs.
   */
  gate?: JobGate;
}

/** Admission of jobs to a pool ({@link WorkerPoolOptions.gate}). */
export interface JobGate {
  /** true: run the job now; false: skip it (e.g. another process runs it). */
  take(job: Job): Promise<boolean>;
  /** the job ended (finished, failed or its worker crashed). */
  end(job: Job): void;
}

/** Default of {@link WorkerPoolOptions.stopGraceMs}: 60 s. */
export const STOP_GRACE_MS = 60_000;

/** What the pool did. */
export interface WorkerPoolResult {
  /** jobs finished (records written). */
  finished: number;
  /** jobs that failed, with their errors. */
  failed: {
    id: string;
    variant: string;
    fold: string;
    seed: number;
    error: string;
  }[];
}

/**
 * Runs `jobs` in a pool of workers; resolves when all ended or, after the
 * signal fired, when every worker has stopped. A worker whose job ran its
 * backend out of memory (a wasm abort leaves the backend unusable) or that
 * crashed is replaced by a fresh one for the remaining jobs; the job itself
 * is reported as failed.
 */
export function runInWorkers(
  jobs: Job[],
  options: WorkerPoolOptions,
): Promise<WorkerPoolResult> {
  const queue = [...jobs];
  const result: WorkerPoolResult = { finished: 0, failed: [] };
  const live = new Set<Worker>();
  const n = Math.max(1, Math.min(options.workers, jobs.length));
  return new Promise((resolve) => {
    let settled = false;
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(graceTimer);
      // jobs cut off at the end of the grace period (or never started)
      for (const j of current.values()) options.progress?.endJob(j, false);
      current.clear();
      for (const w of live) w.terminate();
      live.clear();
      options.signal?.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const onAbort = () => {
      if (live.size === 0) return finish();
      for (const w of live) {
        w.postMessage({ type: "stop" } satisfies WorkerStop);
      }
      graceTimer = setTimeout(
        finish,
        options.stopGraceMs ?? STOP_GRACE_MS,
      );
    };
    const current = new Map<Worker, Job>();
    options.signal?.addEventListener("abort", onAbort);
    if (options.signal?.aborted || jobs.length === 0) return finish();

    const workerEnded = (w: Worker) => {
      if (!live.has(w)) return;
      live.delete(w);
      current.delete(w);
      w.terminate();
      if (live.size === 0) finish();
    };
    // a worker whose backend is lost: a fresh one takes the next jobs
    const replace = (w: Worker) => {
      if (!live.has(w)) return;
      if (queue.length > 0 && !options.signal?.aborted) spawn();
      workerEnded(w);
    };
    const fail = (job: Job, error: string) => {
      options.gate?.end(job);
      result.failed.push({
        id: job.id,
        variant: job.variant,
        fold: job.fold.name,
        seed: job.seed,
        error,
      });
      options.progress?.endJob(job, false);
    };
    const admit = async (job: Job) => {
      if (!options.gate) return true;
      try {
        return await options.gate.take(job);
      } catch (e) {
        fail(job, `cannot start: ${(e as Error)?.message ?? e}`);
        return false;
      }
    };
    const next = async (w: Worker) => {
      let job = queue.shift();
      while (job && !(await admit(job))) job = queue.shift();
      if (!job || options.signal?.aborted || settled) {
        if (job) options.gate?.end(job);
        current.delete(w);
        return workerEnded(w);
      }
      current.set(w, job);
      options.progress?.startJob(job);
      w.postMessage({ type: "job", job } satisfies WorkerJob);
    };

    const spawn = () => {
      const w = new Worker(new URL("./worker_main.ts", import.meta.url).href, {
        type: "module",
      });
      live.add(w);
      w.onmessage = (e: MessageEvent<WorkerReply>) => {
        const msg = e.data;
        if ((msg as { from?: string })?.from !== WORKER_TAG) return; // not ours
        const job = current.get(w);
        switch (msg.type) {
          case "ready":
            return next(w);
          case "step":
            if (job) options.progress?.step(job, msg.step, msg.total);
            return;
          case "epoch":
            if (job) options.progress?.epoch(job, msg.record);
            return;
          case "stopped":
            // it computes nothing any more: safe to terminate
            if (job) options.progress?.endJob(job, false);
            current.delete(w);
            return workerEnded(w);
          case "done":
            if (job) {
              options.gate?.end(job);
              result.finished++;
              options.progress?.endJob(job, true);
            }
            return next(w);
          case "error":
            if (job && msg.id === job.id) {
              fail(job, msg.error);
              current.delete(w);
              return msg.backendLost ? replace(w) : next(w);
            }
            // initialisation failed: this worker can run nothing
            for (const j of queue.splice(0)) {
              fail(j, `worker initialisation failed: ${msg.error}`);
            }
            return workerEnded(w);
        }
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        const job = current.get(w);
        if (job) {
          current.delete(w);
          fail(
            job,
            isBackendMemoryError(e.message)
              ? describeJobFailure(job, e.message)
              : `worker crashed: ${e.message}`,
          );
        }
        replace(w);
      };
      w.postMessage(
        {
          type: "init",
          spec: options.spec,
          outDir: options.outDir,
          depsModule: options.depsModule,
        } satisfies WorkerInit,
      );
    };
    for (let i = 0; i < n; i++) spawn();
  });
}
