/**
 * The Slurm commands the launcher uses: `sbatch --parsable` to submit,
 * `squeue` for the tasks still queued or running, `scontrol show job` for
 * how recently ended tasks ended (kept by Slurm for `MinJobAge` seconds).
 * Each returns null (or throws a one-line error
 * for `sbatch`) when the command is missing or fails.
 *
 * @module
 */

/** What a command printed and how it exited. */
interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[]): Promise<Output | null> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Thrown when a submission cannot be made. */
export class SlurmError extends Error {
  /**
   * Creates the error.
   *
   * @param message one line saying what failed.
   */
  constructor(message: string) {
    super(message);
    this.name = "SlurmError";
  }
}

/**
 * Submits `script` with `sbatch --parsable`; returns the Slurm job id.
 * Throws a {@link SlurmError} when `sbatch` is missing or refuses.
 */
export async function sbatch(script: string): Promise<string> {
  const out = await run("sbatch", ["--parsable", script]);
  if (out === null) {
    throw new SlurmError(
      "--launcher slurm: sbatch not found on this machine (run on a Slurm login node, or use --launcher local)",
    );
  }
  const id = out.stdout.trim().split(";")[0];
  if (out.code !== 0 || !/^\d+$/.test(id)) {
    const why = (out.stderr.trim() || out.stdout.trim()).split("\n")
      .filter((l) => l.trim()).pop() ?? `exit status ${out.code}`;
    throw new SlurmError(`sbatch refused ${script}: ${why}`);
  }
  return id;
}

/** One array task in the queue. */
export interface QueuedTask {
  /** the array job id. */
  jobId: string;
  /** the array index. */
  index: number;
  /** Slurm's state (`PENDING`, `RUNNING`, `COMPLETING`, …). */
  state: string;
}

/**
 * This user's array tasks in the queue, keyed `<job id>_<index>`; null
 * when `squeue` is missing or fails.
 */
export async function queuedTasks(): Promise<Map<string, QueuedTask> | null> {
  const out = await run("squeue", ["-h", "-r", "--me", "-o", "%F|%K|%T"]);
  if (out === null || out.code !== 0) return null;
  const tasks = new Map<string, QueuedTask>();
  for (const line of out.stdout.split("\n")) {
    const [jobId, index, state] = line.trim().split("|");
    if (!state || !/^\d+$/.test(index)) continue;
    tasks.set(`${jobId}_${index}`, { jobId, index: Number(index), state });
  }
  return tasks;
}

/** How an array task ended, as `scontrol` still knows it. */
export interface EndedTask {
  /** Slurm's final state (`COMPLETED`, `FAILED`, `CANCELLED`, `TIMEOUT`, …). */
  state: string;
  /** `exit status:signal`. */
  exitCode: string;
}

/**
 * The states of the array tasks of `jobId` that Slurm still keeps, by
 * array index (empty when it forgot the job or `scontrol` is missing).
 */
export async function taskStates(
  jobId: string,
): Promise<Map<number, EndedTask>> {
  const out = await run("scontrol", ["-o", "show", "job", jobId]);
  const states = new Map<number, EndedTask>();
  if (out === null || out.code !== 0) return states;
  for (const line of out.stdout.split("\n")) {
    const index = /\bArrayTaskId=(\d+)\b/.exec(line)?.[1];
    const state = /\bJobState=(\S+)/.exec(line)?.[1];
    if (!index || !state) continue;
    states.set(Number(index), {
      state,
      exitCode: /\bExitCode=(\S+)/.exec(line)?.[1] ?? "?",
    });
  }
  return states;
}
