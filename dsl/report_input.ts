/**
 * The report's input: the finished jobs' records (verified against their
 * `done.json`) grouped per variant and report group, and (re)writing an
 * experiment's report from them.
 *
 * @module
 */
import { join } from "node:path";
import type { Prediction } from "../train/types.ts";
import type { Deps } from "./deps.ts";
import { StoreError } from "./errors.ts";
import { expandVariants, type Job } from "./plan.ts";
import type { Prepared } from "./prepare.ts";
import type { ReportInput, ReportRow } from "./report/types.ts";
import type { Experiment } from "./schema.ts";
import { deriveSeed } from "./seeds.ts";
import { type JobRecord, type RunStore, UNKNOWN_KERNEL_SET } from "./store.ts";

/**
 * Assembles the report input from the finished jobs' records: per variant
 * × group, per seed the predictions of all folds concatenated. LOSO/k-fold
 * groups are `overall` plus each source (when `breakdownBy: source` and the
 * dataset has more than one source); a
 * fixed split's groups are its test splits. `report.groups` filters them.
 * Each row lists the kernel sets of its jobs (the store's record:
 * `done.json`'s `kernelSet`, derived from `job.json` for older records);
 * the reference
 * variant is `report.reference`, default the spec's last variant; the
 * bootstrap seed is derived by name from the spec's first seed.
 */
export function buildReportInput(
  spec: Experiment,
  prepared: Prepared,
  records: Map<string, JobRecord>,
): ReportInput {
  const rows: ReportRow[] = [];
  const curves: ReportInput["curves"] = [];
  const missing = prepared.jobs.filter((j) => !records.has(j.id)).length;
  for (const variant of prepared.variants) {
    const jobs = prepared.jobs.filter((j) => j.variant === variant.name);
    const bySeed = new Map<number, Prediction[]>();
    const jobKernels = new Set<string>();
    for (const job of jobs) {
      const rec = records.get(job.id);
      if (!rec) continue;
      jobKernels.add(rec.done.kernelSet ?? UNKNOWN_KERNEL_SET);
      const list = bySeed.get(job.seed) ?? [];
      list.push(...rec.predictions);
      bySeed.set(job.seed, list);
      curves.push({
        variant: variant.name,
        seed: job.seed,
        fold: job.fold.name,
        epochs: rec.epochs,
      });
    }
    const seeds = spec.seeds.filter((s) => bySeed.has(s));
    if (seeds.length === 0) continue;
    const groups: [string, (p: Prediction) => boolean][] = [];
    if (spec.protocol.kind === "fixedSplit") {
      for (const t of spec.protocol.tests) {
        groups.push([t, (p) => p.split === t]);
      }
    } else {
      groups.push(["overall", () => true]);
      if (spec.protocol.breakdownBy === "source") {
        const sources = [
          ...new Set(prepared.dataset.samples.map((s) => s.source)),
        ].sort();
        if (sources.length > 1) {
          for (const src of sources) {
            groups.push([src, (p) => p.source === src]);
          }
        }
      }
    }
    for (const [group, keep] of groups) {
      if (spec.report.groups && !spec.report.groups.includes(group)) continue;
      const predictionsBySeed = seeds.map((s) => bySeed.get(s)!.filter(keep))
        .filter((p) => p.length > 0);
      if (predictionsBySeed.length === 0) continue; // nothing finished yet
      const row: ReportRow = {
        variant: variant.name,
        group,
        predictionsBySeed,
        kernelSets: [...jobKernels].sort(),
      };
      const paper = spec.report.paper[variant.name]?.[group];
      if (paper) row.paper = paper;
      rows.push(row);
    }
  }
  const total = prepared.jobs.length;
  const status = missing === 0
    ? `all ${total} jobs finished`
    : `${missing} of ${total} jobs missing (partial results)`;
  return {
    name: spec.name,
    description: `${spec.description}${spec.description ? " — " : ""}${status}`,
    dataset: `${prepared.dataset.name} (${prepared.dataset.description})`,
    classes: prepared.dataset.classes,
    metrics: spec.report.metrics,
    rows,
    references: spec.report.references.filter((r) =>
      !spec.report.groups || spec.report.groups.includes(r.group)
    ),
    curves,
    ...(spec.report.groups ? { groups: [...spec.report.groups] } : {}),
    reference: spec.report.reference ?? [...expandVariants(spec).keys()].at(-1),
    bootstrap: { seed: deriveSeed(spec.seeds[0] ?? 0, "report-bootstrap") },
  };
}

/**
 * Reads the records of every finished job of a plan, verified against the
 * sizes and checksums in their `done.json` ({@link RunStore.check}). A
 * damaged job is refused: a {@link StoreError} naming the file, unless
 * `onDamaged` is given, which hears it instead (the job is left out).
 */
export async function readRecords(
  store: RunStore,
  jobs: Job[],
  onDamaged?: (job: Job, problem: string) => void,
): Promise<Map<string, JobRecord>> {
  const out = new Map<string, JobRecord>();
  for (const job of jobs) {
    let rec: JobRecord | null;
    try {
      rec = await store.read(job);
    } catch (e) {
      if (!onDamaged || !(e instanceof StoreError)) throw e;
      onDamaged(job, e.message);
      continue;
    }
    if (rec) out.set(job.id, rec);
  }
  return out;
}

/**
 * (Re)writes an experiment's report (`<store>/report/`) from whatever
 * records of its plan exist; writes nothing when no job has finished.
 * Returns the files written and how many jobs have records.
 */
export async function writeExperimentReport(
  spec: Experiment,
  prepared: Prepared,
  store: RunStore,
  deps: Pick<Deps, "writeReport">,
  options: {
    /** write the files (default true); false only reads the records. */
    write?: boolean;
    /** damaged finished jobs are reported here and left out (default: an error naming the file). */
    onDamaged?: (job: Job, problem: string) => void;
  } = {},
): Promise<{
  files: string[];
  finished: number;
  records: Map<string, JobRecord>;
  report: ReportInput;
}> {
  const read = await readReportInput(
    spec,
    prepared,
    store,
    options.onDamaged,
  );
  const files = await writeReportFiles(read, store, deps, options.write);
  return { files, finished: read.records.size, ...read };
}

/**
 * The records of a plan's finished jobs ({@link readRecords}) and the report
 * input built from them ({@link buildReportInput}).
 */
export async function readReportInput(
  spec: Experiment,
  prepared: Prepared,
  store: RunStore,
  onDamaged?: (job: Job, problem: string) => void,
): Promise<{ records: Map<string, JobRecord>; report: ReportInput }> {
  const records = await readRecords(store, prepared.jobs, onDamaged);
  return { records, report: buildReportInput(spec, prepared, records) };
}

/**
 * Writes the report of {@link readReportInput}'s result to
 * `<store>/report/`; nothing when no job has finished or `write` is false.
 * Returns the files written.
 */
export async function writeReportFiles(
  read: { records: Map<string, JobRecord>; report: ReportInput },
  store: RunStore,
  deps: Pick<Deps, "writeReport">,
  write = true,
): Promise<string[]> {
  return read.records.size > 0 && write
    ? await deps.writeReport(read.report, join(store.dir, "report"))
    : [];
}
