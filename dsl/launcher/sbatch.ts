/**
 * The sbatch array script of a Slurm submission. Array task K runs its
 * jobs (listed in the script) through `scripts/run.ts`, the local run's
 * code path (`--launcher local --job-ids ID,… --no-report`), so a task
 * does exactly its jobs, with the seeds and records of a local run.
 *
 * The script depends on nothing of the submitting shell: it is submitted
 * with `--export=NONE`, names every path absolutely (working folder, run
 * root, spec, the Deno binary, `deno.json`), sets `DENO_DIR` to the cache
 * the submitting Deno used, runs Deno with `--cached-only` (compute nodes
 * need no internet; the cache and `node_modules` must be on the shared
 * filesystem), and exports the `MERBA_*` settings of the submission (and
 * unsets any other `MERBA_*` the node's login environment may set).
 *
 * @module
 */
import type { SlurmSettings } from "./options.ts";

/** Everything one array script is made of. */
export interface ArrayScriptInput {
  /** the experiment's name (names the Slurm job `merba-<name>`). */
  experiment: string;
  /** the submission's number (for the header). */
  submission: number;
  /** the jobs of each array task (task K: `tasks[K - 1]`). */
  tasks: string[][];
  /** parallel workers per task (`--jobs`). */
  workers: number;
  /** absolute working folder of the tasks (the submission's cwd). */
  cwd: string;
  /** absolute path of the Deno binary. */
  deno: string;
  /** the Deno cache folder (`DENO_DIR`). */
  denoDir: string;
  /** absolute path of the project's `deno.json`. */
  config: string;
  /** absolute path of `scripts/run.ts`. */
  runScript: string;
  /** the spec (absolute) and its override flags (`--preset`, `--set`, …). */
  specArgs: string[];
  /** absolute run root (`--out`). */
  outDir: string;
  /** the task log pattern (absolute; `%a` is the array index). */
  logPattern: string;
  /** environment to export (`MERBA_*`). */
  env: Record<string, string>;
  /** the sbatch settings. */
  slurm: SlurmSettings;
}

/** Quotes a word for bash (single quotes). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The `--array` value of `count` tasks numbered from 1, with `%K` when at
 * most K tasks may run at once.
 */
export function arraySpec(count: number, parallel?: number): string {
  return (count === 1 ? "1" : `1-${count}`) + (parallel ? `%${parallel}` : "");
}

/** The text of the sbatch array script. */
export function arrayScript(input: ArrayScriptInput): string {
  const s = input.slurm;
  const q = shellQuote;
  const directives = [
    `--job-name=merba-${input.experiment}`,
    `--array=${arraySpec(input.tasks.length, s.arrayParallel)}`,
    `--output=${input.logPattern}`,
    `--chdir=${input.cwd}`,
    "--export=NONE",
    "--ntasks=1",
    `--cpus-per-task=${s.cpus}`,
    ...(s.partition ? [`--partition=${s.partition}`] : []),
    ...(s.time ? [`--time=${s.time}`] : []),
    ...(s.gres ? [`--gres=${s.gres}`] : []),
    ...(s.mem ? [`--mem=${s.mem}`] : []),
  ];
  const run = [
    input.deno,
    "run",
    "-A",
    "--cached-only",
    "--config",
    input.config,
    input.runScript,
    ...input.specArgs,
    "--out",
    input.outDir,
    "--jobs",
    String(input.workers),
    "--launcher",
    "local",
    "--no-report",
  ].map(q).join(" ");
  const denoBin = input.deno.slice(0, input.deno.lastIndexOf("/")) || "/";
  const env = Object.entries(input.env).sort(([a], [b]) => a < b ? -1 : 1)
    .map(([k, val]) => `export ${k}=${q(val)}`);
  return [
    "#!/bin/bash",
    `# merba: experiment ${input.experiment}, submission ${input.submission}.`,
    "# Array task K runs the jobs listed for K below through scripts/run.ts",
    "# (the local code path; finished jobs are skipped, records go to --out).",
    ...directives.map((d) => `#SBATCH ${d}`),
    ...(s.extra?.trim() ? [`#SBATCH ${s.extra.trim()}`] : []),
    "",
    "set -u",
    `export DENO_DIR=${q(input.denoDir)}`,
    "export DENO_NO_UPDATE_CHECK=1",
    "export NO_COLOR=1",
    `export PATH=${q(denoBin)}:/usr/local/bin:/usr/bin:/bin`,
    "# the MERBA_* settings of the submission, and no others",
    "for v in $(compgen -e | grep '^MERBA_'); do unset \"$v\"; done",
    ...env,
    `cd ${q(input.cwd)} || exit 1`,
    'task="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"',
    'case "${SLURM_ARRAY_TASK_ID}" in',
    ...input.tasks.map((jobs, i) => `${i + 1}) jobs=${jobs.join(",")} ;;`),
    '*) echo "merba: array task ${task}: no jobs for this index"; exit 2 ;;',
    "esac",
    'echo "merba: array task ${task} (jobs ${jobs}) on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"',
    `${run} --job-ids "\${jobs}" &`,
    "child=$!",
    `trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; echo "merba: array task \${task} stopped by SIGTERM (scancel, time limit or preemption)"; exit 143' TERM`,
    'wait "$child"',
    "rc=$?",
    'echo "merba: array task ${task} exited with status ${rc}"',
    'exit "$rc"',
    "",
  ].join("\n");
}
