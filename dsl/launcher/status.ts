/**
 * Where each job of a study stands, from the run store, the jobs' claims,
 * the Slurm submissions (`dsl/launcher/history.ts`), the queue (`squeue`)
 * and the task logs:
 *
 * - **finished**: `done.json` names the job's hash;
 * - **running**: a live process claims it (`claim.json`), or its array
 *   task is running and has reached it (a task runs its jobs in plan
 *   order, `workers` at a time);
 * - **failed**: its array task reported it failed, or ended (left the
 *   queue) without finishing it; with the task's last error line and log;
 * - **pending**: queued in Slurm, waiting in its running task, or not
 *   submitted.
 *
 * @module
 */
import { claimIsLive, readClaim } from "../store.ts";
import type { Job } from "../plan.ts";
import { join } from "node:path";
import { JOB_FILES, type RunStore } from "../store.ts";
import {
  placements,
  readSubmissions,
  type SubmissionRecord,
  taskLog,
} from "./history.ts";
import {
  type EndedTask,
  type QueuedTask,
  queuedTasks,
  taskStates,
} from "./slurm_cli.ts";

/** The four states of a job. */
export type JobState = "finished" | "running" | "failed" | "pending";

/** One job's state. */
export interface JobStatus {
  /** the job. */
  job: Job;
  /** its state. */
  state: JobState;
  /** one line: where it runs, why it failed, where it waits. */
  detail: string;
  /** its array task's log, when it was submitted. */
  log?: string;
  /** its array task, `<slurm job id>_<index>`, when it was submitted. */
  task?: string;
  /** how many times it was submitted. */
  attempts: number;
}

/** A study's state. */
export interface StudyStatus {
  /** every job of the plan, in plan order. */
  jobs: JobStatus[];
  /** jobs per state. */
  counts: Record<JobState, number>;
  /** the array tasks of this study still queued or running. */
  active: string[];
  /** false when the queue could not be read (`squeue` missing or failing). */
  queueKnown: boolean;
}

/** Slurm states of a task that is executing (or about to end). */
const RUNNING_STATES = new Set([
  "RUNNING",
  "COMPLETING",
  "CONFIGURING",
  "STAGE_OUT",
  "SIGNALING",
]);

/**
 * The line of a task log that says why a job failed: the error printed
 * under `failed: … (<jobId>):` when the run reported the job failed, else
 * the last of Slurm's `*** … ***` lines (`CANCELLED`, `DUE TO TIME
 * LIMIT`), else the last line mentioning an error, else the last line
 * naming a way to die (killed, out of memory, SIGTERM), else the last
 * line; null for an empty log.
 */
export function failureLine(log: string, jobId?: string): string | null {
  // deno-lint-ignore no-control-regex
  const lines = log.replace(/\x1b\[[0-9;]*m/g, "").split("\n")
    .map((l) => l.trim()).filter((l) => l);
  if (jobId) {
    const at = lines.findIndex((l) =>
      l.startsWith("failed:") && l.includes(`(${jobId}):`)
    );
    if (at >= 0 && at + 1 < lines.length) return lines[at + 1];
  }
  // Slurm's own `*** JOB … CANCELLED/DUE TO TIME LIMIT … ***`, then an
  // error line, then any line naming a way to die
  for (
    const pattern of [
      /\*\*\*.*\*\*\*/,
      /error/i,
      /cancelled|killed|out of memory|oom|time limit|sigterm/i,
    ]
  ) {
    const line = lines.findLast((l) => pattern.test(l));
    if (line) return line;
  }
  return lines.at(-1) ?? null;
}

/** True when a task log says the task ended (its last line of the script). */
function logEnded(log: string): boolean {
  return /merba: array task \S+ (exited with status|stopped by SIGTERM)/.test(
    log,
  );
}

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Options of {@link studyStatus}. */
export interface StudyStatusOptions {
  /** the queue (default: `squeue`; null: unknown). */
  queue?: Map<string, QueuedTask> | null;
  /** how ended tasks ended, per Slurm job id (default: `scontrol`). */
  ended?: (slurmJobId: string) => Promise<Map<number, EndedTask>>;
  /** the time claims are judged at. */
  now?: Date;
}

/** The state of every job of `jobs` (see the module doc). */
export async function studyStatus(
  store: RunStore,
  jobs: readonly Job[],
  options: StudyStatusOptions = {},
): Promise<StudyStatus> {
  const submissions = await readSubmissions(store.dir);
  const placed = placements(submissions);
  const queue = options.queue !== undefined
    ? options.queue
    : submissions.length > 0
    ? await queuedTasks()
    : new Map<string, QueuedTask>();
  const endedOf = options.ended ?? taskStates;
  const endedCache = new Map<string, Map<number, EndedTask>>();
  const logCache = new Map<string, string | null>();
  const readLog = async (path: string) => {
    if (!logCache.has(path)) logCache.set(path, await readText(path));
    return logCache.get(path)!;
  };
  const done = new Set<string>();
  for (const job of jobs) if (await store.isDone(job)) done.add(job.id);
  const out: JobStatus[] = [];
  for (const job of jobs) {
    const p = placed.get(job.id);
    const attempts = p?.attempts ?? 0;
    if (done.has(job.id)) {
      out.push({ job, state: "finished", detail: "", attempts });
      continue;
    }
    const where = p ? taskKey(p.submission, p.task.index) : undefined;
    const log = p ? taskLog(p.submission.dir, p.task.index) : undefined;
    const base = { job, attempts, ...(where ? { task: where, log } : {}) };
    const claim = await readClaim(store.jobDir(job));
    if (claim && claimIsLive(claim, options.now)) {
      out.push({
        ...base,
        state: "running",
        detail: `${
          where ? `slurm ${where}, ` : ""
        }pid ${claim.pid} on ${claim.host} since ${claim.startedAt}`,
      });
      continue;
    }
    if (!p || !where || !log) {
      out.push({ ...base, state: "pending", detail: "not submitted" });
      continue;
    }
    const text = await readLog(log);
    const reported = text !== null &&
      text.split("\n").some((l) =>
        l.startsWith("failed:") && l.includes(`(${job.id}):`)
      );
    const queued = queue?.get(where);
    if (reported) {
      out.push({
        ...base,
        state: "failed",
        detail: `slurm ${where}: ${failureLine(text!, job.id)}`,
      });
    } else if (queued && RUNNING_STATES.has(queued.state)) {
      // the task runs its unfinished jobs in plan order, `workers` at once
      const workers = Math.max(
        1,
        Math.min(p.submission.slurm.cpus, p.task.jobs.length),
      );
      const open = p.task.jobs.filter((id) => !done.has(id));
      const running = open.slice(0, workers).includes(job.id);
      out.push({
        ...base,
        state: running ? "running" : "pending",
        detail: running
          ? `slurm ${where} (${queued.state.toLowerCase()})`
          : `waiting in slurm ${where} (running its other jobs)`,
      });
    } else if (queued) {
      out.push({
        ...base,
        state: "pending",
        detail: `queued as slurm ${where} (${queued.state.toLowerCase()})`,
      });
    } else if (queue === null && !(text !== null && logEnded(text))) {
      out.push({
        ...base,
        state: text === null ? "pending" : "running",
        detail: `slurm ${where} (squeue not available: ${
          text === null ? "no log yet" : "its log has not ended"
        })`,
      });
    } else {
      const id = p.submission.slurmJobId;
      if (!endedCache.has(id)) endedCache.set(id, await endedOf(id));
      const ended = endedCache.get(id)!.get(p.task.index);
      const how = ended
        ? `${ended.state.toLowerCase()} (exit ${ended.exitCode})`
        : "ended";
      const line = text === null
        ? "no log (the task never started?)"
        : failureLine(text, job.id) ?? "empty log";
      const started = await Deno.stat(join(store.jobDir(job), JOB_FILES.job))
        .then(() => true, () => false);
      out.push({
        ...base,
        state: "failed",
        detail: `slurm ${where} ${how} ${
          started ? "without finishing it" : "before starting it"
        }: ${line}`,
      });
    }
  }
  const counts: Record<JobState, number> = {
    finished: 0,
    running: 0,
    failed: 0,
    pending: 0,
  };
  for (const s of out) counts[s.state]++;
  const active = new Set<string>();
  for (const sub of submissions) {
    for (const t of sub.tasks) {
      const key = taskKey(sub, t.index);
      if (queue?.has(key)) active.add(key);
    }
  }
  return { jobs: out, counts, active: [...active], queueKnown: queue !== null };
}

function taskKey(sub: SubmissionRecord, index: number): string {
  return `${sub.slurmJobId}_${index}`;
}

/** The one-line summary of a {@link StudyStatus}. */
export function statusSummary(name: string, status: StudyStatus): string {
  const c = status.counts;
  const slurm = status.active.length > 0
    ? `; slurm: ${status.active.length} array task${
      status.active.length === 1 ? "" : "s"
    } queued or running`
    : status.queueKnown
    ? ""
    : "; slurm queue unknown (squeue not available)";
  return `${name}: ${c.finished} finished, ${c.running} running, ${c.failed} failed, ${c.pending} pending of ${status.jobs.length} jobs${slurm}`;
}

/** The `deno task status` text: one line per job, then the summary. */
export function formatStatus(
  name: string,
  dir: string,
  status: StudyStatus,
): string {
  const lines = [`${name}: ${dir}/`];
  const width = Math.max(8, ...status.jobs.map((s) => s.job.variant.length));
  for (const s of status.jobs) {
    const attempt = s.attempts > 1 ? ` (attempt ${s.attempts})` : "";
    lines.push(
      `  ${s.job.id}  ${s.job.variant.padEnd(width)}  seed ${
        String(s.job.seed).padEnd(4)
      } fold ${s.job.fold.name.padEnd(10)} ${s.state.padEnd(8)}${
        s.detail ? ` ${s.detail}` : ""
      }${attempt}`,
    );
    if (s.state === "failed" && s.log) lines.push(`      log: ${s.log}`);
  }
  lines.push(statusSummary(name, status));
  return lines.join("\n");
}
