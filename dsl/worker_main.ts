/**
 * Entry point of a job worker (a Deno Worker started by `dsl/workers.ts`).
 * On `init` it loads its dependencies, initialises its own TF.js backend and
 * loads the dataset; then it runs each `job` it is sent with
 * `executeJob`, writing the job's records itself, and reports steps and
 * the outcome back.
 *
 * On `stop` it stops its job at the next step boundary (the job stays
 * unfinished) and answers `stopped`: from then on it computes nothing, so
 * the pool can terminate it without cutting a computation (an OpenBLAS call
 * on its thread pool) off.
 *
 * Messages in: {@link WorkerInit}, {@link WorkerJob}, {@link WorkerStop}.
 * Messages out: {@link WorkerReply}.
 *
 * @module
 */
import type { FlowDataset } from "../data/types.ts";
import type { EpochRecord } from "../train/types.ts";
import { type Deps, loadDeps } from "./deps.ts";
import {
  describeJobFailure,
  executeJob,
  isBackendMemoryError,
} from "./execute.ts";
import { loadDataset } from "./prepare.ts";
import type { Job } from "./plan.ts";
import type { Experiment } from "./schema.ts";
import { type RunContext, runContext, RunStore } from "./store.ts";

/** Sets a worker up. */
export interface WorkerInit {
  type: "init";
  spec: Experiment;
  outDir: string;
  /** module exporting `deps` (default: the project's modules). */
  depsModule?: string;
}

/** Runs one job. */
export interface WorkerJob {
  type: "job";
  job: Job;
}

/** Stops the job in progress at its next step boundary. */
export interface WorkerStop {
  type: "stop";
}

/** Tag on every reply of a job worker (other modules' messages are ignored). */
export const WORKER_TAG = "merba-dsl-worker";

/** What a worker reports. */
export type WorkerReply =
  | { type: "ready" }
  | { type: "step"; id: string; step: number; total: number }
  | { type: "epoch"; id: string; record: EpochRecord }
  | { type: "done"; id: string }
  | { type: "stopped" }
  | {
    type: "error";
    id?: string;
    error: string;
    /**
     * the backend ran out of memory (a wasm abort leaves it unusable):
     * the pool replaces this worker before the next job.
     */
    backendLost?: boolean;
  };

interface State {
  deps: Deps;
  dataset: FlowDataset;
  store: RunStore;
  context: RunContext;
}

// deno-lint-ignore no-explicit-any
const scope = self as any;
let state: State | null = null;
/** The job in progress: its stop switch and its end. */
let running: { controller: AbortController; ended: Promise<void> } | null =
  null;

function post(reply: WorkerReply): void {
  scope.postMessage({ ...reply, from: WORKER_TAG });
}

async function onMessage(
  e: MessageEvent<WorkerInit | WorkerJob | WorkerStop>,
): Promise<void> {
  const msg = e.data;
  if (msg.type === "stop") {
    running?.controller.abort(new Error("stopped"));
    await running?.ended;
    post({ type: "stopped" });
    return;
  }
  if (msg.type === "init") {
    try {
      const deps = await loadDeps(msg.depsModule);
      const backend = await deps.initBackend(msg.spec.backend);
      const dataset = await loadDataset(msg.spec, deps);
      state = {
        deps,
        dataset,
        store: new RunStore(msg.outDir, msg.spec.name),
        context: await runContext(backend),
      };
      post({ type: "ready" });
    } catch (err) {
      post({ type: "error", error: String((err as Error)?.stack ?? err) });
    }
    return;
  }
  if (msg.type === "job") {
    const job = msg.job;
    if (!state) {
      post({ type: "error", id: job.id, error: "worker not initialised" });
      return;
    }
    const controller = new AbortController();
    const { promise: ended, resolve } = Promise.withResolvers<void>();
    running = { controller, ended };
    try {
      await executeJob(job, state.dataset, state.deps, state.store, {
        onStep: (step, total) =>
          post({ type: "step", id: job.id, step, total }),
        onEpoch: (record) => post({ type: "epoch", id: job.id, record }),
        signal: controller.signal,
      }, state.context);
      post({ type: "done", id: job.id });
    } catch (err) {
      // a stopped job stays unfinished: the stop's answer says so
      if (!controller.signal.aborted) {
        post({
          type: "error",
          id: job.id,
          error: describeJobFailure(job, err),
          backendLost: isBackendMemoryError(err),
        });
      }
    } finally {
      running = null;
      resolve();
    }
  }
}

scope.onmessage = onMessage;
