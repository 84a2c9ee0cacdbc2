/**
 * Which kernel set produced a finished job, read from its records, for the
 * report (runs that differ only by kernel set give different floats).
 *
 * A job's `job.json` records `context.kernelSet` (`wasm`, `wasm+openblas`,
 * `cpu`, …, model/runtime.ts' `kernelSetLabel`). Records written before
 * that field existed are read by deriving the label from `context.backend`:
 * its name, plus `+openblas` when its `blas` setting is not null. A record
 * without a backend (the caller set it up itself) has no kernel set.
 *
 * @module
 */
import type { Job } from "./plan.ts";
import type { RunStore } from "./store.ts";

/**
 * The kernel set of a job's run context (see the module doc), or null when
 * the context does not say.
 *
 * @param context `job.json`'s `context`, as parsed.
 */
export function kernelSetOf(context: unknown): string | null {
  if (context === null || typeof context !== "object") return null;
  const c = context as { kernelSet?: unknown; backend?: unknown };
  if (typeof c.kernelSet === "string" && c.kernelSet.length > 0) {
    return c.kernelSet;
  }
  const b = c.backend as { name?: unknown; blas?: unknown } | null;
  if (b === null || typeof b !== "object" || typeof b.name !== "string") {
    return null;
  }
  return b.blas != null ? `${b.name}+openblas` : b.name;
}

/**
 * Reads the kernel set of every job that has a `job.json`: job id → label
 * (jobs whose record does not say are left out).
 *
 * @param store the run store.
 * @param jobs the jobs to look up.
 */
export async function readKernelSets(
  store: RunStore,
  jobs: Pick<Job, "id">[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const job of jobs) {
    let record: { context?: unknown };
    try {
      record = JSON.parse(await Deno.readTextFile(store.path(job, "job")));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof SyntaxError) {
        continue;
      }
      throw e;
    }
    const set = kernelSetOf(record?.context);
    if (set !== null) out.set(job.id, set);
  }
  return out;
}
