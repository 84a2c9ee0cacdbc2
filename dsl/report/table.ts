/**
 * The numbers of a report and their table renderings (markdown, CSV, JSON).
 *
 * For every report row (a variant on a group) the metrics are computed per
 * seed over that seed's predictions (all folds concatenated, see
 * `metrics.ts`), then summarised as the mean over seeds and, with more than
 * one seed, the sample standard deviation (n − 1). Each metric also gets a
 * 95% interval and, for every row but the reference row of its group, the
 * paired difference to that row with its interval and p-value, all from
 * one subject-cluster bootstrap per group (`bootstrap.ts`). The paper's
 * number and the difference `ours − paper` stand beside it. Confusion
 * matrices are summed over seeds. Each row names the kernel sets its jobs
 * ran on; a report whose rows come from more than one says so loudly.
 *
 * Layout (the paper's): one line per method — the reference rows (other
 * methods, published numbers) first, then our variants — and one column per
 * group × metric.
 *
 * Everything here is a pure function of the {@linkcode ReportInput}: no
 * timestamps, so rerunning a report gives byte-identical files.
 *
 * @module
 */
import { METRIC_NAMES, type MetricName } from "../../train/types.ts";
import type { ReportInput } from "./types.ts";
import { computeMetrics } from "../../train/metrics.ts";
import {
  bootstrapGroup,
  DEFAULT_RESAMPLES,
  type PairedDifference,
} from "./bootstrap.ts";

/** One metric of one row, summarised over seeds. */
export interface MetricSummary {
  /** mean over seeds (NaN when the row has no predictions). */
  mean: number;
  /** sample standard deviation over seeds; null with a single seed. */
  std: number | null;
  /** the value of each seed, in seed order. */
  perSeed: number[];
  /** the paper's number, when given. */
  paper: number | null;
  /** `mean − paper`, when the paper's number is given. */
  diff: number | null;
  /** 95% subject-bootstrap interval of the mean; null: none (no predictions). */
  ci95: [number, number] | null;
}

/** A row's paired comparison with the reference row of its group. */
export interface VsReference {
  /** the reference variant. */
  variant: string;
  /** per metric: difference (this row − reference), 95% interval, p. */
  metrics: Record<MetricName, PairedDifference>;
}

/** One of our rows, summarised. */
export interface RowSummary {
  /** the variant's name. */
  variant: string;
  /** the group (test split or source dataset). */
  group: string;
  /** seeds with predictions. */
  seeds: number;
  /** predictions per seed. */
  n: number[];
  /** every metric, summarised. */
  metrics: Record<MetricName, MetricSummary>;
  /** confusion[true][pred] summed over seeds. */
  confusion: number[][];
  /** classes absent from this row's ground truth (see metrics.ts). */
  absent: string[];
  /** distinct test subjects the bootstrap resampled for this row's group. */
  subjects: number;
  /**
   * the paired comparison with the reference row of the same group; null
   * for the reference row itself and when the group has none.
   */
  vsReference: VsReference | null;
  /** the kernel sets of the row's jobs (empty: not recorded). */
  kernelSets: string[];
}

/** A report's numbers. */
export interface ReportSummary {
  /** the experiment's name. */
  name: string;
  /** what it is. */
  description: string;
  /** the dataset line. */
  dataset: string;
  /** class names. */
  classes: string[];
  /** reported metrics, in column order. */
  metrics: MetricName[];
  /**
   * groups in column order: those of `input.groups` that occur, in that
   * order, then the rest in order of first appearance (rows, then
   * references).
   */
  groups: string[];
  /** our rows. */
  rows: RowSummary[];
  /** other methods' published numbers. */
  references: ReportInput["references"];
  /** the reference variant of the paired comparisons, or null. */
  reference: string | null;
  /** how the intervals were made. */
  bootstrap: { method: string; resamples: number; seed: number };
  /** every kernel set of the rows, sorted (more than one: mixed report). */
  kernelSets: string[];
  /** one plain sentence: what the comparisons can and cannot conclude. */
  conclusion: string;
}

const METRIC_LABEL: Record<MetricName, string> = {
  uf1: "UF1",
  uar: "UAR",
  acc: "ACC",
};

const GROUP_LABEL: Record<string, string> = {
  overall: "Overall",
  testA: "Test A",
  testB: "Test B",
  test: "Test",
  smic: "SMIC-HS",
  casme2: "CASME II",
  samm: "SAMM",
  "3db": "3DB-Combined",
};

/** A readable column label for a group name (`testA` → `Test A`). */
export function groupLabel(group: string): string {
  return GROUP_LABEL[group] ?? group;
}

/** A metric's column label (`uf1` → `UF1`). */
export function metricLabel(metric: MetricName): string {
  return METRIC_LABEL[metric];
}

function meanStd(xs: number[]): { mean: number; std: number | null } {
  if (xs.length === 0) return { mean: NaN, std: null };
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  if (xs.length < 2) return { mean, std: null };
  const v = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, std: Math.sqrt(v) };
}

/**
 * Computes the per-seed metrics and their summaries of every row.
 *
 * @param input the report input.
 */
export function summarizeReport(input: ReportInput): ReportSummary {
  const k = input.classes.length;
  const groups: string[] = [];
  const addGroup = (g: string) => {
    if (!groups.includes(g)) groups.push(g);
  };
  const present = new Set([
    ...input.rows.map((r) => r.group),
    ...input.references.map((r) => r.group),
  ]);
  (input.groups ?? []).forEach((g) => present.has(g) && addGroup(g));
  input.rows.forEach((r) => addGroup(r.group));
  input.references.forEach((r) => addGroup(r.group));
  const rows = input.rows.map((row): RowSummary => {
    const confusion = Array.from({ length: k }, () => new Array(k).fill(0));
    const perSeed: Record<MetricName, number[]> = { uf1: [], uar: [], acc: [] };
    const absent = new Set<string>();
    const n: number[] = [];
    for (const preds of row.predictionsBySeed) {
      n.push(preds.length);
      if (preds.length === 0) continue;
      const m = computeMetrics(
        preds.map((p) => p.label),
        preds.map((p) => p.pred),
        input.classes,
      );
      perSeed.uf1.push(m.uf1);
      perSeed.uar.push(m.uar);
      perSeed.acc.push(m.acc);
      m.absent.forEach((a) => absent.add(a));
      m.confusion.forEach((r, i) => r.forEach((c, j) => confusion[i][j] += c));
    }
    const metrics = {} as Record<MetricName, MetricSummary>;
    for (const metric of METRIC_NAMES) {
      const { mean, std } = meanStd(perSeed[metric]);
      const paper = row.paper?.[metric] ?? null;
      metrics[metric] = {
        mean,
        std,
        perSeed: perSeed[metric],
        paper,
        diff: paper === null || Number.isNaN(mean) ? null : mean - paper,
        ci95: null,
      };
    }
    return {
      variant: row.variant,
      group: row.group,
      seeds: perSeed.uf1.length,
      n,
      metrics,
      confusion,
      absent: input.classes.filter((c) => absent.has(c)),
      subjects: 0,
      vsReference: null,
      kernelSets: [...new Set(row.kernelSets ?? [])].sort(),
    };
  });
  const seed = input.bootstrap?.seed ?? 0;
  const resamples = input.bootstrap?.resamples ?? DEFAULT_RESAMPLES;
  const reference = input.reference ?? null;
  for (const group of groups) {
    const idx = rows.flatMap((r, i) => (r.group === group ? [i] : []));
    if (idx.length === 0) continue;
    const ref = idx.findIndex((i) => rows[i].variant === reference);
    const boot = bootstrapGroup(
      idx.map((i) => input.rows[i]),
      k,
      ref < 0 ? null : ref,
      { seed, group, resamples },
    );
    idx.forEach((i, j) => {
      const row = rows[i];
      row.subjects = boot.subjects;
      for (const metric of METRIC_NAMES) {
        row.metrics[metric].ci95 = boot.intervals[j][metric].ci95;
      }
      const paired = boot.paired[j];
      if (paired) row.vsReference = { variant: reference!, metrics: paired };
    });
  }
  const summary: ReportSummary = {
    name: input.name,
    description: input.description,
    dataset: input.dataset,
    classes: [...input.classes],
    metrics: [...input.metrics],
    groups,
    rows,
    references: input.references,
    reference,
    bootstrap: {
      method:
        "percentile interval of a bootstrap over test subjects (a subject's clips and seeds stay together); paired differences on the same resampled subjects; two-sided p = min(1, 2·min(1 + #{D ≤ 0}, 1 + #{D ≥ 0}) / (B + 1))",
      resamples,
      seed,
    },
    kernelSets: [...new Set(rows.flatMap((r) => r.kernelSets))].sort(),
    conclusion: "",
  };
  summary.conclusion = conclusionSentence(summary);
  return summary;
}

/** True when a paired difference's 95% interval excludes 0. */
export function differs(d: PairedDifference | undefined | null): boolean {
  return !!d?.ci95 && (d.ci95[0] > 0 || d.ci95[1] < 0);
}

/** The mark of a cell whose difference to the reference excludes 0. */
export function mark(d: PairedDifference | undefined | null): string {
  if (!differs(d)) return "";
  return d!.diff > 0 ? " ▲" : " ▼";
}

function conclusionSentence(summary: ReportSummary): string {
  const ref = summary.reference;
  const variants = new Set(summary.rows.map((r) => r.variant));
  if (variants.size < 2) {
    return "One variant only: there is nothing to compare; each interval shows how far its score could move with other test subjects.";
  }
  if (ref === null || !summary.rows.some((r) => r.variant === ref)) {
    return `No paired comparison: the reference variant ${
      ref === null ? "is not set" : `${ref} has no results`
    }, so the table cannot say whether any two rows differ beyond the overlap of their intervals.`;
  }
  const hits: string[] = [];
  let compared = 0;
  for (const row of summary.rows) {
    if (!row.vsReference) continue;
    for (const m of summary.metrics) {
      const d = row.vsReference.metrics[m];
      compared++;
      if (differs(d)) {
        hits.push(
          `${row.variant} ${groupLabel(row.group)} ${metricLabel(m)} ${
            signed(d.diff, 3)
          } (p ${fmtP(d.p)})`,
        );
      }
    }
  }
  const metricNames = summary.metrics.map(metricLabel).join("/");
  const fewest = Math.min(...summary.rows.map((r) => r.subjects));
  const few = fewest < FEW_SUBJECTS
    ? ` With only ${fewest} test subject${
      fewest === 1 ? "" : "s"
    } in a group the intervals are rough.`
    : "";
  if (hits.length === 0) {
    return `No row differs from ${ref} at the 95% level (${metricNames}, paired bootstrap over test subjects): these data cannot rank the variants against it.${few}`;
  }
  const shown = hits.slice(0, 6).join("; ") +
    (hits.length > 6 ? `; and ${hits.length - 6} more` : "");
  return `${hits.length} of ${compared} comparisons with ${ref} exclude 0 at the 95% level (marked ▲ above, ▼ below it): ${shown}; the other differences are within what resampling the test subjects produces (no correction for multiple comparisons).${few}`;
}

/** Below this many test subjects the conclusion calls the intervals rough. */
const FEW_SUBJECTS = 10;

/** A p-value with 3 decimals, `< 0.001` below that; `n/a` when missing. */
export function fmtP(p: number | null | undefined): string {
  if (p === null || p === undefined || Number.isNaN(p)) return "n/a";
  return p < 0.001 ? "< 0.001" : p.toFixed(3);
}

/**
 * The loud line of a report whose rows come from more than one kernel set,
 * or null.
 *
 * @param summary the report's numbers.
 */
export function kernelWarning(summary: ReportSummary): string | null {
  if (summary.kernelSets.length < 2) return null;
  return `WARNING: MIXED KERNEL SETS — rows come from ${summary.kernelSets.length} kernel sets (${
    summary.kernelSets.join(", ")
  }); kernel sets give different floats, so a difference between rows of different kernel sets mixes the models with the arithmetic. Rerun them on one kernel set to compare.`;
}

/** Formats a metric value with 4 decimals (`n/a` when missing). */
export function fmt(x: number | null | undefined): string {
  return x === null || x === undefined || Number.isNaN(x)
    ? "n/a"
    : x.toFixed(4);
}

function signed(x: number, digits = 4): string {
  const s = x.toFixed(digits);
  return x >= 0 || /^-0\.0+$/.test(s) ? `+${s.replace("-", "")}` : s;
}

/** A 95% interval with 3 decimals: `[0.390, 0.470]` (empty when null). */
export function ciText(ci: [number, number] | null | undefined): string {
  return ci ? `[${ci[0].toFixed(3)}, ${ci[1].toFixed(3)}]` : "";
}

/**
 * The text of one of our cells: `mean [lo, hi]`, a mark (▲/▼) when its
 * paired difference to the reference row excludes 0, then
 * `· paper p · Δ d` when the paper's number is given.
 *
 * @param m the metric's summary.
 * @param vs the metric's paired difference to the reference row, if any.
 */
export function cellText(
  m: MetricSummary,
  vs?: PairedDifference | null,
): string {
  if (m.mean === null || Number.isNaN(m.mean)) return "n/a";
  let s = fmt(m.mean);
  if (m.ci95) s += ` ${ciText(m.ci95)}`;
  s += mark(vs);
  if (m.paper !== null) s += ` · paper ${fmt(m.paper)} · Δ ${signed(m.diff!)}`;
  return s;
}

/** The Method cell of one of our variants (`(ours, reference)` for it). */
function methodText(summary: ReportSummary, variant: string): string {
  return variant === summary.reference ? "(ours, reference)" : "(ours)";
}

function columns(summary: ReportSummary): [string, MetricName][] {
  return summary.groups.flatMap((g) =>
    summary.metrics.map((m) => [g, m] as [string, MetricName])
  );
}

function mdEscape(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** The header of the markdown and terminal tables. */
function tableHeader(cols: [string, MetricName][]): string[] {
  return [
    "Method",
    ...cols.map(([g, m]) => `${groupLabel(g)} ${metricLabel(m)}`),
    "Seeds",
    "Kernels",
  ];
}

/**
 * The paper-layout table as markdown: a header, the reference rows, then our
 * rows; cells per group × metric.
 *
 * @param summary the report's numbers.
 */
export function markdownTable(summary: ReportSummary): string {
  const cols = columns(summary);
  const header = tableHeader(cols);
  const lines = [
    `| ${header.map(mdEscape).join(" | ")} |`,
    `|${
      header.map((_, i) =>
        i === 0 || i === header.length - 1 ? " --- " : " ---: "
      ).join("|")
    }|`,
  ];
  const refMethods = [...new Set(summary.references.map((r) => r.method))];
  for (const method of refMethods) {
    const cells = cols.map(([g, m]) => {
      const ref = summary.references.find((r) =>
        r.method === method && r.group === g
      );
      return fmt(ref?.values[m]);
    });
    lines.push(
      `| ${[mdEscape(method), ...cells, "paper", ""].join(" | ")} |`,
    );
  }
  const variants = [...new Set(summary.rows.map((r) => r.variant))];
  for (const variant of variants) {
    const rows = summary.rows.filter((r) => r.variant === variant);
    const cells = cols.map(([g, m]) => {
      const row = rows.find((r) => r.group === g);
      return row ? cellText(row.metrics[m], row.vsReference?.metrics[m]) : "–";
    });
    const seeds = Math.max(0, ...rows.map((r) => r.seeds));
    lines.push(
      `| ${
        [
          `**${mdEscape(variant)}** ${methodText(summary, variant)}`,
          ...cells,
          String(seeds),
          mdEscape(rowKernels(rows)),
        ].join(" | ")
      } |`,
    );
  }
  return lines.join("\n") + "\n";
}

/** The kernel sets of a variant's rows (`–`: not recorded). */
function rowKernels(rows: RowSummary[]): string {
  const sets = [...new Set(rows.flatMap((r) => r.kernelSets))].sort();
  return sets.length > 0 ? sets.join(", ") : "–";
}

/**
 * The final result table for the terminal: our rows only, one column per
 * group × metric with `mean [95% interval]` and the ▲/▼ marks, the seeds
 * and kernel sets, then the conclusion sentence and, when rows come from
 * several kernel sets, the loud warning line. Plain text, aligned; NaN
 * (`null` in a parsed `report/<name>.json`) shows as `n/a`.
 *
 * @param report the report's numbers ({@linkcode summarizeReport}, or the
 *   parsed `report/<name>.json`).
 */
export function formatResultTable(report: ReportSummary): string {
  const cols = columns(report);
  const header = tableHeader(cols);
  const body: string[][] = [];
  for (const variant of [...new Set(report.rows.map((r) => r.variant))]) {
    const rows = report.rows.filter((r) => r.variant === variant);
    body.push([
      variant === report.reference ? `${variant} (reference)` : variant,
      ...cols.map(([g, m]) => {
        const row = rows.find((r) => r.group === g);
        if (!row) return "–";
        const s = row.metrics[m];
        if (s.mean === null || Number.isNaN(s.mean)) return "n/a";
        return `${fmt(s.mean)} ${ciText(s.ci95)}${
          mark(row.vsReference?.metrics[m])
        }`.trimEnd();
      }),
      String(Math.max(0, ...rows.map((r) => r.seeds))),
      rowKernels(rows),
    ]);
  }
  const widths = header.map((h, i) =>
    Math.max(h.length, ...body.map((r) => r[i].length))
  );
  const line = (cells: string[]) =>
    cells.map((c, i) =>
      i === 0 || i === cells.length - 1
        ? c.padEnd(widths[i])
        : c.padStart(widths[i])
    )
      .join("  ").trimEnd();
  const out = [
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...body.map(line),
    "",
    report.conclusion,
  ];
  const warning = kernelWarning(report);
  if (warning) out.push("", `!!! ${warning}`);
  return out.join("\n") + "\n";
}

function csvField(v: string | number | null): string {
  if (v === null) return "";
  if (typeof v === "number") {
    return Number.isNaN(v) ? "" : String(Number(v.toFixed(6)));
  }
  return /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/**
 * The table as long-format CSV: one line per (method, group, metric) with
 * `kind` (`ours` or `reference`), mean, std, the 95% interval, seeds,
 * predictions per seed, test subjects, the paper's number and the
 * difference, the paired comparison with the reference variant (its name,
 * difference, interval, p) and the kernel sets (space-separated). Values
 * with 6 decimals.
 *
 * @param summary the report's numbers.
 */
export function csvTable(summary: ReportSummary): string {
  const lines = [
    "kind,method,group,metric,mean,std,ci95_lo,ci95_hi,seeds,n,subjects,paper,diff,reference,ref_diff,ref_ci95_lo,ref_ci95_hi,ref_p,kernel_sets",
  ];
  for (const ref of summary.references) {
    for (const m of summary.metrics) {
      const v = ref.values[m];
      if (v === undefined) continue;
      lines.push(
        [
          "reference",
          ref.method,
          ref.group,
          m,
          v,
          ...new Array(6).fill(null),
          v,
          ...new Array(7).fill(null),
        ].map(csvField).join(","),
      );
    }
  }
  for (const row of summary.rows) {
    for (const m of summary.metrics) {
      const s = row.metrics[m];
      const vs = row.vsReference;
      const d = vs?.metrics[m];
      lines.push(
        [
          "ours",
          row.variant,
          row.group,
          m,
          s.mean,
          s.std,
          s.ci95?.[0] ?? null,
          s.ci95?.[1] ?? null,
          row.seeds,
          row.n.join(" "),
          row.subjects,
          s.paper,
          s.diff,
          vs?.variant ?? null,
          d?.diff ?? null,
          d?.ci95?.[0] ?? null,
          d?.ci95?.[1] ?? null,
          d?.p ?? null,
          row.kernelSets.join(" "),
        ].map(csvField).join(","),
      );
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * The report's numbers as pretty-printed JSON (NaN as null).
 *
 * @param summary the report's numbers.
 */
export function jsonReport(summary: ReportSummary): string {
  return JSON.stringify(
    summary,
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
    2,
  ) + "\n";
}
