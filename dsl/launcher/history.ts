/**
 * The record of an experiment's Slurm submissions, kept beside its jobs:
 * `runs/<experiment>/slurm/submission-NNN/` holds the array script
 * (`array.sbatch`), one log per array task (`task-<K>.log`) and
 * `submission.json` (written once `sbatch` accepted the array): the Slurm
 * job id, the command, and which jobs each array task runs. `status`
 * reads them to place every job in the queue and to find its log; the
 * submitter counts a job's attempts from them.
 *
 * @module
 */
import { join } from "node:path";
import { writeJsonAtomic } from "../store.ts";
import type { SlurmSettings } from "./options.ts";

/** One array task of a submission. */
export interface SubmittedTask {
  /** the array index (1-based). */
  index: number;
  /** the ids of the jobs it runs, in plan order. */
  jobs: string[];
}

/** What `submission.json` holds. */
export interface Submission {
  /** 1, 2, … in submission order. */
  number: number;
  /** the Slurm array job id. */
  slurmJobId: string;
  /** ISO time of the submission. */
  submittedAt: string;
  /** the submitting host. */
  host: string;
  /** the submitting working folder. */
  cwd: string;
  /** the `deno task run` arguments. */
  args: string[];
  /** the array tasks submitted. */
  tasks: SubmittedTask[];
  /** the sbatch settings. */
  slurm: SlurmSettings;
}

/** A submission as read back, with its folder. */
export interface SubmissionRecord extends Submission {
  /** the submission's folder. */
  dir: string;
}

/** The Slurm folder of an experiment's run folder. */
export function slurmDir(experimentDir: string): string {
  return join(experimentDir, "slurm");
}

/** The log file of array task `index` of a submission. */
export function taskLog(dir: string, index: number | string): string {
  return join(dir, `task-${index}.log`);
}

const SUBMISSION = /^submission-(\d+)$/;

/**
 * Every submission of an experiment whose `submission.json` exists, oldest
 * first (a folder without one is a submission `sbatch` refused).
 */
export async function readSubmissions(
  experimentDir: string,
): Promise<SubmissionRecord[]> {
  const out: SubmissionRecord[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(slurmDir(experimentDir))];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  for (const e of entries) {
    if (!e.isDirectory || !SUBMISSION.test(e.name)) continue;
    const dir = join(slurmDir(experimentDir), e.name);
    let text: string;
    try {
      text = await Deno.readTextFile(join(dir, "submission.json"));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      throw err;
    }
    const sub = JSON.parse(text) as Submission;
    out.push({ ...sub, dir });
  }
  return out.sort((a, b) => a.number - b.number);
}

/**
 * Creates the next submission folder (`submission-NNN`, created
 * exclusively, so two submitters never share one); returns its number and
 * path.
 */
export async function newSubmissionDir(
  experimentDir: string,
): Promise<{ number: number; dir: string }> {
  const root = slurmDir(experimentDir);
  await Deno.mkdir(root, { recursive: true });
  let next = 1;
  for await (const e of Deno.readDir(root)) {
    const m = SUBMISSION.exec(e.name);
    if (m) next = Math.max(next, Number(m[1]) + 1);
  }
  for (;; next++) {
    const dir = join(root, `submission-${String(next).padStart(3, "0")}`);
    try {
      await Deno.mkdir(dir);
      return { number: next, dir };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
}

/** Writes `submission.json` (atomically). */
export async function writeSubmission(
  dir: string,
  submission: Submission,
): Promise<void> {
  await writeJsonAtomic(join(dir, "submission.json"), submission);
}

/** Where a job was last submitted, and how many times it was. */
export interface JobPlacement {
  /** the latest submission that includes the job. */
  submission: SubmissionRecord;
  /** its array task. */
  task: SubmittedTask;
  /** how many submissions included the job. */
  attempts: number;
}

/** Each submitted job's latest placement, by job id. */
export function placements(
  submissions: readonly SubmissionRecord[],
): Map<string, JobPlacement> {
  const out = new Map<string, JobPlacement>();
  for (const submission of submissions) {
    for (const task of submission.tasks) {
      for (const id of task.jobs) {
        const attempts = (out.get(id)?.attempts ?? 0) + 1;
        out.set(id, { submission, task, attempts });
      }
    }
  }
  return out;
}
