/**
 * What a report is made from: rows of predictions per variant and group,
 * published reference numbers and learning curves.
 *
 * @module
 */
import type { EpochRecord, MetricName, Prediction } from "../../train/types.ts";

/** One row of a report: a variant on one group (test split or source dataset). */
export interface ReportRow {
  /** variant name. */
  variant: string;
  /** `testA`, `testB`, `overall`, `casme2`, … */
  group: string;
  /** per seed, the predictions of all folds concatenated. */
  predictionsBySeed: Prediction[][];
  /** the paper's published numbers for this row. */
  paper?: Partial<Record<MetricName, number>>;
  /**
   * the kernel sets (`wasm`, `wasm+openblas`, …, see the run store's
   * `RunContext.kernelSet`) of the jobs behind the row, sorted; absent or
   * empty: not recorded.
   */
  kernelSets?: string[];
}

/** Numbers-only rows (other methods in the paper's table). */
export interface ReferenceRow {
  /** method name as in the paper. */
  method: string;
  /** group (test split or source dataset). */
  group: string;
  /** published metric values. */
  values: Partial<Record<MetricName, number>>;
}

/** What a report is made from. */
export interface ReportInput {
  /** experiment name. */
  name: string;
  /** what the experiment is. */
  description: string;
  /** e.g. "synthetic-dfme (built-in test-bed)". */
  dataset: string;
  /** class names. */
  classes: readonly string[];
  /** metrics to report, in column order. */
  metrics: MetricName[];
  /** our rows. */
  rows: ReportRow[];
  /** other methods' published numbers. */
  references: ReferenceRow[];
  /** epoch records of every finished job, for learning curves. */
  curves: {
    variant: string;
    seed: number;
    fold: string;
    epochs: EpochRecord[];
  }[];
  /**
   * column order of the groups (the spec's `report.groups`); groups not
   * listed follow in order of first appearance. Absent: first appearance.
   */
  groups?: string[];
  /**
   * the variant every other row is compared with, group by group (the
   * spec's `report.reference`, default its last variant); absent: no
   * paired comparisons.
   */
  reference?: string;
  /**
   * the bootstrap's seed (default 0) and resamples (default 2000), see
   * `report/bootstrap.ts`.
   */
  bootstrap?: { seed: number; resamples?: number };
}
