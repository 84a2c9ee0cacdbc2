/**
 * `deno task report SPEC [flags of the run]`: (re)writes the study's
 * report (`runs/<experiment>/report/`) from whatever job records exist —
 * the same report a run writes at its end, saying how many jobs are
 * missing when the study is half finished. Exits 0 when it wrote the
 * report, 1 when no job has finished yet or on an error (one `error:`
 * line).
 *
 * @module
 */
import { writeExperimentReport } from "../dsl/report_input.ts";
import { openStudy, studyUsage } from "../dsl/launcher/study.ts";
import { reportError } from "./run.ts";

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const study = await openStudy(args);
    if (!study) {
      console.log(studyUsage(
        "report",
        "Rebuilds the report of a study from the records of its finished jobs.",
      ));
      return 0;
    }
    const { spec, prepared, store, deps } = study;
    const { files, finished } = await writeExperimentReport(
      spec,
      prepared,
      store,
      deps,
    );
    const total = prepared.jobs.length;
    if (finished === 0) {
      console.error(
        `error: ${spec.name}: no job of ${total} has finished yet (${store.dir}): no report`,
      );
      return 1;
    }
    console.log(
      `${spec.name}: report from ${finished} of ${total} finished jobs${
        finished < total ? ` (${total - finished} missing)` : ""
      }`,
    );
    for (const file of files) console.log(`report: ${file}`);
    return 0;
  } catch (e) {
    return reportError(e);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
