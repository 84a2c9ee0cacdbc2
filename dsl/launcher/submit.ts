/**
 * `deno task run SPEC --launcher slurm`: plans the study, submits its
 * unfinished jobs as one Slurm array (`dsl/launcher/sbatch.ts`), records
 * the submission (`dsl/launcher/history.ts`) and says how to follow it.
 * With `--wait` it follows the array until it ends, resubmits the jobs
 * that did not finish while they have attempts left
 * (`--slurm.max-attempts`, counted over all submissions), then writes the
 * report like a local run.
 *
 * Resubmitting the same command submits only the jobs that are neither
 * finished nor queued or running in an earlier array, and never a job
 * that has used up its attempts.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Deps, loadDeps } from "../deps.ts";
import { prepare } from "../prepare.ts";
import { writeExperimentReport } from "../report_input.ts";
import type { RunArgs } from "../overrides.ts";
import type { Job } from "../plan.ts";
import type { Experiment } from "../schema.ts";
import { RunStore } from "../store.ts";
import { newSubmissionDir, writeSubmission } from "./history.ts";
import type { LauncherChoice } from "./options.ts";
import { arrayScript, shellQuote } from "./sbatch.ts";
import { sbatch } from "./slurm_cli.ts";
import {
  formatStatus,
  statusSummary,
  type StudyStatus,
  studyStatus,
} from "./status.ts";

/** What {@link runOnSlurm} needs. */
export interface SlurmRunInput {
  /** the resolved spec. */
  spec: Experiment;
  /** the parsed run flags (launcher flags removed). */
  args: RunArgs;
  /** the run flags as typed (launcher flags removed), for the hints. */
  argv: string[];
  /** the launcher settings. */
  launcher: LauncherChoice;
  /** module exporting stand-in `deps` (tests), as for a local run. */
  depsModule?: string;
  /**
   * the longest wait between queue polls with `--wait`, in seconds
   * (default 30): polls start 2 s apart and back off while nothing changes.
   */
  pollSeconds?: number;
}

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/**
 * The spec and its override flags as the array tasks pass them to
 * `scripts/run.ts`: absolute paths, everything that shapes the plan
 * (`--preset`, `--set`, `--variant`, `--seed`, `--data`, `--backend`).
 */
export function taskSpecArgs(args: RunArgs, cwd: string): string[] {
  const out = [resolve(cwd, args.spec)];
  if (args.preset !== undefined) out.push("--preset", args.preset);
  for (const s of args.sets ?? []) {
    out.push("--set", `${s.path}=${s.text ?? JSON.stringify(s.value)}`);
  }
  for (const v of args.variants) out.push("--variant", v);
  if (args.seeds) out.push("--seed", args.seeds.join(","));
  if (args.data) {
    out.push("--data", `${args.data.name}=${resolve(cwd, args.data.root)}`);
  }
  if (args.backend) out.push("--backend", args.backend);
  return out;
}

/** The Deno cache folder the running Deno uses (`deno info --json`). */
async function denoDir(): Promise<string> {
  const set = Deno.env.get("DENO_DIR");
  if (set) return resolve(set);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const dir = out.success
    ? (JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir?: string })
      .denoDir
    : undefined;
  if (!dir) {
    throw new Error("cannot find Deno's cache folder (deno info --json)");
  }
  return dir;
}

/** The `MERBA_*` settings of this process, carried to the array tasks. */
function merbaEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => k.startsWith("MERBA_")),
  );
}

/** Splits `jobs` into array tasks of at most `size` consecutive jobs. */
export function groupJobs<T>(jobs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < jobs.length; i += size) out.push(jobs.slice(i, i + size));
  return out;
}

/** True when a job is queued or running in an array of an earlier submission (or claimed). */
function inFlight(
  status: StudyStatus,
  s: StudyStatus["jobs"][number],
): boolean {
  return s.state === "running" ||
    (s.task !== undefined && status.active.includes(s.task));
}

/** Submits `jobs` as one array; returns the Slurm job id. */
async function submitArray(
  input: SlurmRunInput,
  store: RunStore,
  jobs: Job[],
): Promise<{ slurmJobId: string; dir: string; tasks: number }> {
  const cwd = Deno.cwd();
  const s = input.launcher.slurm;
  const tasks = groupJobs(jobs.map((j) => j.id), s.jobsPerTask);
  const { number, dir } = await newSubmissionDir(store.dir);
  const script = join(dir, "array.sbatch");
  await Deno.writeTextFile(
    script,
    arrayScript({
      experiment: input.spec.name,
      submission: number,
      tasks,
      workers: Math.max(1, Math.min(s.cpus, s.jobsPerTask)),
      cwd,
      deno: Deno.execPath(),
      denoDir: await denoDir(),
      config: join(ROOT, "deno.json"),
      runScript: join(ROOT, "scripts", "run.ts"),
      specArgs: taskSpecArgs(input.args, cwd),
      outDir: resolve(cwd, input.args.out),
      logPattern: join(dir, "task-%a.log"),
      env: merbaEnv(),
      slurm: s,
    }),
  );
  let slurmJobId: string;
  try {
    slurmJobId = await sbatch(script);
  } catch (e) {
    // not submitted: the folder must not count as an attempt
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  await writeSubmission(dir, {
    number,
    slurmJobId,
    submittedAt: new Date().toISOString(),
    host: Deno.hostname(),
    cwd,
    args: input.argv,
    tasks: tasks.map((ids, i) => ({ index: i + 1, jobs: ids })),
    slurm: s,
  });
  return { slurmJobId, dir, tasks: tasks.length };
}

function command(task: string, argv: readonly string[]): string {
  return `deno task ${task} ${argv.map(shellQuote).join(" ")}`;
}

/**
 * Runs the study on Slurm (see the module doc); returns the exit code: 0
 * when submitted (without `--wait`), when every job finished, or when the
 * unfinished ones are all queued or running; 1 when jobs are left
 * unfinished (with `--wait`) or out of attempts.
 */
export async function runOnSlurm(input: SlurmRunInput): Promise<number> {
  const { spec, args, launcher } = input;
  const deps: Deps = await loadDeps(input.depsModule);
  // planning loads the (cached) dataset, which touches TF.js: the plain
  // cpu backend is enough here, the jobs run in the array tasks
  await deps.initBackend("cpu");
  const prepared = await prepare(spec, deps, {
    variants: args.variants,
    file: args.spec,
  });
  const store = new RunStore(resolve(args.out), spec.name);
  const max = launcher.slurm.maxAttempts;
  const maxPoll = (input.pollSeconds ?? 30) * 1000;
  let status = await studyStatus(store, prepared.jobs);
  let submitted = false;
  let exhausted = 0;
  const named = new Set<string>();
  for (;;) {
    const open = status.jobs.filter((s) => s.state !== "finished");
    const busy = open.filter((s) => inFlight(status, s));
    const left = open.filter((s) => !inFlight(status, s));
    const spent = left.filter((s) => s.attempts >= max);
    const todo = left.filter((s) => s.attempts < max);
    exhausted = spent.length;
    if (busy.length > 0 && !submitted) {
      console.log(
        `${busy.length} jobs are queued or running in an earlier array (${
          [...new Set(busy.map((s) => s.task ?? "claimed"))].join(", ")
        }): not submitted again`,
      );
    }
    for (const s of spent.filter((s) => !named.has(s.job.id))) {
      named.add(s.job.id);
      console.log(
        `not resubmitted: ${s.job.id} (${s.job.variant}, seed ${s.job.seed}, fold ${s.job.fold.name}) failed ${s.attempts} times (--slurm.max-attempts ${max}); last: ${s.detail}${
          s.log ? `; log ${s.log}` : ""
        }`,
      );
    }
    if (todo.length > 0) {
      const retry = todo.filter((s) => s.attempts > 0).length;
      const sub = await submitArray(input, store, todo.map((s) => s.job));
      submitted = true;
      const s = launcher.slurm;
      console.log(
        `${spec.name}: submitted ${todo.length} of ${prepared.jobs.length} jobs${
          retry
            ? ` (${retry} retried after an unfinished attempt; at most ${max} attempts each)`
            : ""
        } as Slurm job ${sub.slurmJobId}: ${sub.tasks} array task${
          sub.tasks === 1 ? "" : "s"
        } of up to ${s.jobsPerTask} job${s.jobsPerTask === 1 ? "" : "s"}${
          s.arrayParallel ? `, at most ${s.arrayParallel} at once` : ""
        }`,
      );
      console.log(`  script: ${join(sub.dir, "array.sbatch")}`);
      console.log(`  logs:   ${join(sub.dir, "task-<K>.log")}`);
      console.log(
        `  follow: ${
          command("status", input.argv)
        }   (or: squeue -j ${sub.slurmJobId})`,
      );
      if (!launcher.wait) {
        console.log(
          `  report: ${
            command("report", input.argv)
          }   (when it has ended; --wait does it)`,
        );
        return 0;
      }
    } else if (busy.length === 0 || !launcher.wait) {
      break;
    }
    // --wait: follow the queue until no task of this study is left in it
    let last = "";
    let unknown = 0;
    let poll = 2000;
    for (;;) {
      status = await studyStatus(store, prepared.jobs);
      const line = statusSummary(spec.name, status);
      // poll often while things change, back off while they do not
      poll = line === last ? Math.min(maxPoll, poll * 1.5) : 2000;
      if (line !== last) console.log(line);
      last = line;
      if (!status.queueKnown) {
        if (++unknown >= 5) {
          throw new Error(
            `--wait: cannot read the Slurm queue (squeue failed 5 times); the array goes on: ${
              command("status", input.argv)
            }`,
          );
        }
      } else {
        unknown = 0;
        if (status.active.length === 0) break;
      }
      await new Promise((r) => setTimeout(r, poll));
    }
  }
  status = await studyStatus(store, prepared.jobs);
  const finished = status.counts.finished === prepared.jobs.length;
  if (!submitted && finished) {
    console.log(
      `${spec.name}: all ${prepared.jobs.length} jobs finished: nothing to submit`,
    );
  }
  if (launcher.wait || finished) {
    const { files } = await writeExperimentReport(spec, prepared, store, deps);
    if (!finished) {
      console.log(formatStatus(spec.name, store.dir, status));
    }
    for (const file of files) console.log(`report: ${file}`);
    return finished ? 0 : 1;
  }
  // nothing submitted: the rest is in flight or out of attempts
  console.log(statusSummary(spec.name, status));
  return exhausted > 0 ? 1 : 0;
}
