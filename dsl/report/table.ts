/**
 * The numbers of a report and their table renderings (markdown, CSV, JSON).
 *
 * For every report row (a variant on a group) the metrics are computed per
 * seed over that seed's predictions (all folds concatenated, see
 * `metrics.ts`), then summarised as the mean over seeds and, with more than
 * one seed, the sample standard deviation (n − 1). The paper's number and
 * the difference `ours − paper` stand beside it. Confusion matrices are
 * summed over seeds.
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
import type { MetricName, ReportInput } from "../engine_types.ts";
import { computeMetrics } from "../metrics.ts";

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
    for (const metric of ["uf1", "uar", "acc"] as MetricName[]) {
      const { mean, std } = meanStd(perSeed[metric]);
      const paper = row.paper?.[metric] ?? null;
      metrics[metric] = {
        mean,
        std,
        perSeed: perSeed[metric],
        paper,
        diff: paper === null || Number.isNaN(mean) ? null : mean - paper,
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
    };
  });
  return {
    name: input.name,
    description: input.description,
    dataset: input.dataset,
    classes: [...input.classes],
    metrics: [...input.metrics],
    groups,
    rows,
    references: input.references,
  };
}

/** Formats a metric value with 4 decimals (`n/a` when missing). */
export function fmt(x: number | null | undefined): string {
  return x === null || x === undefined || Number.isNaN(x)
    ? "n/a"
    : x.toFixed(4);
}

function signed(x: number): string {
  const s = x.toFixed(4);
  return x >= 0 || s === "-0.0000" ? `+${s.replace("-", "")}` : s;
}

/** The text of one of our cells: `mean ± std · paper p · Δ d`. */
export function cellText(m: MetricSummary): string {
  if (Number.isNaN(m.mean)) return "n/a";
  let s = fmt(m.mean);
  if (m.std !== null) s += ` ± ${fmt(m.std)}`;
  if (m.paper !== null) s += ` · paper ${fmt(m.paper)} · Δ ${signed(m.diff!)}`;
  return s;
}

function columns(summary: ReportSummary): [string, MetricName][] {
  return summary.groups.flatMap((g) =>
    summary.metrics.map((m) => [g, m] as [string, MetricName])
  );
}

function mdEscape(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/**
 * The paper-layout table as markdown: a header, the reference rows, then our
 * rows; cells per group × metric.
 *
 * @param summary the report's numbers.
 */
export function markdownTable(summary: ReportSummary): string {
  const cols = columns(summary);
  const header = [
    "Method",
    ...cols.map(([g, m]) => `${groupLabel(g)} ${metricLabel(m)}`),
    "Seeds",
  ];
  const lines = [
    `| ${header.map(mdEscape).join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`,
  ];
  const refMethods = [...new Set(summary.references.map((r) => r.method))];
  for (const method of refMethods) {
    const cells = cols.map(([g, m]) => {
      const ref = summary.references.find((r) =>
        r.method === method && r.group === g
      );
      return fmt(ref?.values[m]);
    });
    lines.push(`| ${[mdEscape(method), ...cells, "paper"].join(" | ")} |`);
  }
  const variants = [...new Set(summary.rows.map((r) => r.variant))];
  for (const variant of variants) {
    const rows = summary.rows.filter((r) => r.variant === variant);
    const cells = cols.map(([g, m]) => {
      const row = rows.find((r) => r.group === g);
      return row ? cellText(row.metrics[m]) : "–";
    });
    const seeds = Math.max(0, ...rows.map((r) => r.seeds));
    lines.push(
      `| ${
        [`**${mdEscape(variant)}** (ours)`, ...cells, String(seeds)].join(" | ")
      } |`,
    );
  }
  return lines.join("\n") + "\n";
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
 * `kind` (`ours` or `reference`), mean, std, seeds, predictions per seed,
 * the paper's number and the difference. Values with 6 decimals.
 *
 * @param summary the report's numbers.
 */
export function csvTable(summary: ReportSummary): string {
  const lines = ["kind,method,group,metric,mean,std,seeds,n,paper,diff"];
  for (const ref of summary.references) {
    for (const m of summary.metrics) {
      const v = ref.values[m];
      if (v === undefined) continue;
      lines.push(
        ["reference", ref.method, ref.group, m, v, null, null, null, v, null]
          .map(csvField).join(","),
      );
    }
  }
  for (const row of summary.rows) {
    for (const m of summary.metrics) {
      const s = row.metrics[m];
      lines.push(
        [
          "ours",
          row.variant,
          row.group,
          m,
          s.mean,
          s.std,
          row.seeds,
          row.n.join(" "),
          s.paper,
          s.diff,
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
