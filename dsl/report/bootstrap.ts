/**
 * Subject-cluster bootstrap of a report's metrics: 95% intervals per row
 * and paired differences to a reference row, with a p-value.
 *
 * Estimator. A row (a variant on a group) has, per seed, the test
 * predictions of all folds concatenated. Its statistic θ is the report's
 * number: the metric (UF1, UAR or ACC, `metrics.ts`) computed per seed on
 * that seed's pooled predictions, then averaged over seeds. One bootstrap
 * resample draws S subjects with replacement, uniformly from the S test
 * subjects of the group (the union over the group's rows; a subject is
 * `source` + `subject`, so equal ids of two corpora stay apart); each
 * drawn subject brings ALL its clips of EVERY seed, as many times as it
 * was drawn. θ* is θ recomputed on those predictions: per seed the metric
 * of the resampled pool, then the mean over the seeds whose pool is not
 * empty. (Implemented exactly, but fast: per seed and subject a confusion
 * matrix, and a resample's matrix is their count-weighted sum.)
 *
 * - Interval: the percentile interval, the 2.5% and 97.5% quantiles of the
 *   B values θ* (linear interpolation between order statistics,
 *   `simple-statistics`' `quantileSorted`).
 * - Paired difference to the reference row of the same group: every row of
 *   a group is scored on the SAME resampled subjects (one subject draw per
 *   resample and group), so D* = θ*(row) − θ*(reference) keeps the pairing
 *   by subject and by seed (seeds are common random numbers, `seeds.ts`).
 *   The point difference is θ(row) − θ(reference), its interval the
 *   percentile interval of D*, and the two-sided p-value
 *   p = min(1, 2·min(1 + #{D* ≤ 0}, 1 + #{D* ≥ 0}) / (B + 1)), the share of
 *   resampled differences on the far side of 0 with the +1 correction
 *   (so p ≥ 2/(B + 1), never 0, and the 95% interval excludes 0 about when
 *   p < 0.05).
 *
 * What it covers: which test subjects happened to be in the data. The
 * training seeds are averaged, not resampled, so seed-to-seed spread adds
 * to it only through the mean (the report's s.d. column shows it). No
 * correction for multiple comparisons is made.
 *
 * The draws come from one {@linkcode Rng} per group, seeded by name from
 * the report's seed (`deriveSeed(seed, "report-bootstrap", group)`), so a
 * report is reproducible byte for byte.
 *
 * @module
 */
import { quantileSorted } from "simple-statistics";
import {
  METRIC_NAMES,
  type MetricName,
  type Prediction,
} from "../../train/types.ts";
import { scoreConfusion } from "../../train/metrics.ts";
import { Rng } from "../../train/rng.ts";
import { deriveSeed } from "../seeds.ts";

/** The metrics the bootstrap scores, in this order. */
export const BOOTSTRAP_METRICS: readonly MetricName[] = METRIC_NAMES;

/** Default number of resamples of a report. */
export const DEFAULT_RESAMPLES = 2000;

/** One row of a group, as the bootstrap sees it. */
export interface BootstrapRow {
  /** per seed, the row's predictions (all folds concatenated). */
  predictionsBySeed: Prediction[][];
}

/** The bootstrap of one row's metric. */
export interface MetricInterval {
  /** the 95% percentile interval; null when no resample could score it. */
  ci95: [number, number] | null;
}

/** The paired comparison of one row's metric with the reference row. */
export interface PairedDifference {
  /** θ(row) − θ(reference). */
  diff: number;
  /** 95% percentile interval of the resampled differences; null: none. */
  ci95: [number, number] | null;
  /** two-sided bootstrap p-value (see the module doc); null: none. */
  p: number | null;
}

/** Options of {@linkcode bootstrapGroup}. */
export interface BootstrapOptions {
  /** the report's seed (the stream is derived from it and the group). */
  seed: number;
  /** the group's name (names the stream). */
  group: string;
  /** resamples (default {@linkcode DEFAULT_RESAMPLES}; at least 1). */
  resamples?: number;
}

/** What {@linkcode bootstrapGroup} returns, per row in input order. */
export interface GroupBootstrap {
  /** distinct test subjects of the group (what is resampled). */
  subjects: number;
  /** resamples drawn. */
  resamples: number;
  /** per row: metric → interval. */
  intervals: Record<MetricName, MetricInterval>[];
  /**
   * per row: metric → paired difference to the reference row; null for the
   * reference row itself and when no reference row was given.
   */
  paired: (Record<MetricName, PairedDifference> | null)[];
}

function subjectKey(p: Prediction): string {
  return `${p.source}\u0000${p.subject}`;
}

function percentile95(values: number[]): [number, number] | null {
  const xs = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  return [quantileSorted(xs, 0.025), quantileSorted(xs, 0.975)];
}

/**
 * Two-sided bootstrap p-value of a difference from its resampled values
 * (see the module doc): `min(1, 2·min(1 + #{d ≤ 0}, 1 + #{d ≥ 0}) / (B + 1))`
 * over the finite values; null when there are none.
 *
 * @param diffs the resampled differences.
 */
export function bootstrapP(diffs: ArrayLike<number>): number | null {
  let le = 0, ge = 0, b = 0;
  for (let i = 0; i < diffs.length; i++) {
    const d = diffs[i];
    if (!Number.isFinite(d)) continue;
    b++;
    if (d <= 0) le++;
    if (d >= 0) ge++;
  }
  if (b === 0) return null;
  return Math.min(1, 2 * Math.min(1 + le, 1 + ge) / (b + 1));
}

/**
 * Bootstraps every row of one group by resampling its test subjects (see
 * the module doc for the estimator, the interval and the p-value).
 *
 * @param rows the group's rows.
 * @param k the number of classes.
 * @param reference index of the reference row in `rows`, or null.
 * @param options the seed, the group's name and the number of resamples.
 */
export function bootstrapGroup(
  rows: BootstrapRow[],
  k: number,
  reference: number | null,
  options: BootstrapOptions,
): GroupBootstrap {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new RangeError(
      `bootstrap resamples must be an integer ≥ 1, got ${resamples}`,
    );
  }
  // subjects: sorted union over the rows, so the draw does not depend on
  // the order predictions were stored in.
  const keys = new Set<string>();
  for (const row of rows) {
    for (const preds of row.predictionsBySeed) {
      for (const p of preds) keys.add(subjectKey(p));
    }
  }
  const subjects = [...keys].sort();
  const index = new Map(subjects.map((s, i) => [s, i]));
  const s = subjects.length;
  const kk = k * k;
  // per row, per seed: one k×k matrix per subject, flat (subject-major).
  const tables = rows.map((row) =>
    row.predictionsBySeed.map((preds) => {
      const t = new Float64Array(s * kk);
      for (const p of preds) {
        t[index.get(subjectKey(p))! * kk + p.label * k + p.pred]++;
      }
      return t;
    })
  );
  const nm = BOOTSTRAP_METRICS.length;
  // stats[row][metric][b]
  const stats = rows.map(() =>
    BOOTSTRAP_METRICS.map(() => new Float64Array(resamples))
  );
  const rng = new Rng(
    deriveSeed(options.seed, "report-bootstrap", options.group),
  );
  const weights = new Float64Array(s);
  const confusion = new Float64Array(kk);
  const sums = new Float64Array(nm);
  for (let b = 0; b < resamples; b++) {
    weights.fill(0);
    for (let i = 0; i < s; i++) weights[rng.int(s)]++;
    for (let r = 0; r < rows.length; r++) {
      sums.fill(0);
      let seeds = 0;
      for (const t of tables[r]) {
        confusion.fill(0);
        for (let j = 0; j < s; j++) {
          const w = weights[j];
          if (w === 0) continue;
          const off = j * kk;
          for (let c = 0; c < kk; c++) confusion[c] += w * t[off + c];
        }
        const m = scoreConfusion(confusion, k);
        if (Number.isNaN(m.acc)) continue; // this seed drew no clip
        seeds++;
        sums[0] += m.uf1;
        sums[1] += m.uar;
        sums[2] += m.acc;
      }
      for (let m = 0; m < nm; m++) {
        stats[r][m][b] = seeds === 0 ? NaN : sums[m] / seeds;
      }
    }
  }
  const point = rows.map((row) => pointEstimates(row, k));
  const intervals = stats.map((perMetric) => {
    const out = {} as Record<MetricName, MetricInterval>;
    BOOTSTRAP_METRICS.forEach((metric, m) => {
      out[metric] = { ci95: percentile95([...perMetric[m]]) };
    });
    return out;
  });
  const paired = rows.map((_, r) => {
    if (reference === null || r === reference) return null;
    const out = {} as Record<MetricName, PairedDifference>;
    BOOTSTRAP_METRICS.forEach((metric, m) => {
      const d = new Array<number>(resamples);
      for (let b = 0; b < resamples; b++) {
        d[b] = stats[r][m][b] - stats[reference][m][b];
      }
      out[metric] = {
        diff: point[r][m] - point[reference][m],
        ci95: percentile95(d),
        p: bootstrapP(d),
      };
    });
    return out;
  });
  return { subjects: s, resamples, intervals, paired };
}

/** θ of a row: per seed the metric of its predictions, mean over seeds. */
function pointEstimates(row: BootstrapRow, k: number): number[] {
  const sums = BOOTSTRAP_METRICS.map(() => 0);
  let seeds = 0;
  for (const preds of row.predictionsBySeed) {
    if (preds.length === 0) continue;
    const confusion = new Float64Array(k * k);
    for (const p of preds) confusion[p.label * k + p.pred]++;
    const m = scoreConfusion(confusion, k);
    sums[0] += m.uf1;
    sums[1] += m.uar;
    sums[2] += m.acc;
    seeds++;
  }
  return sums.map((x) => (seeds === 0 ? NaN : x / seeds));
}
