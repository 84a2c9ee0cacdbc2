/**
 * `deno task status SPEC [flags of the run]`: where each job of a study
 * stands — finished, running (claimed by a live process, or reached by its
 * running Slurm array task), failed (with its task's last error line and
 * log) or pending (queued, or not submitted) — from the run store, the
 * Slurm submissions and `squeue`/`scontrol` where available, then a
 * one-line summary. Exits 0 (1 with one `error:` line when the spec or
 * flags are bad).
 *
 * @module
 */
import { formatStatus, studyStatus } from "../dsl/launcher/status.ts";
import { openStudy, studyUsage } from "../dsl/launcher/study.ts";
import { reportError } from "./run.ts";

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const study = await openStudy(args);
    if (!study) {
      console.log(studyUsage(
        "status",
        "Prints each job's state (finished, running, failed, pending) and a summary.",
      ));
      return 0;
    }
    const status = await studyStatus(study.store, study.prepared.jobs);
    console.log(formatStatus(study.spec.name, study.store.dir, status));
    return 0;
  } catch (e) {
    return reportError(e);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
