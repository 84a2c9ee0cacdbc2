/**
 * Writes a report folder:
 *
 * ```
 * <outDir>/<name>.md / .csv / .json    the paper-layout table and its numbers
 * <outDir>/confusion/<variant>__<group>.svg / .png   summed over seeds
 * <outDir>/curves/<variant>.svg / .png               loss and validation metric
 * <outDir>/index.md, index.html        summary page linking everything
 * <outDir>/meta.json                   generation time, font, versions
 * ```
 *
 * Only `meta.json` holds a timestamp; every other file is a pure function of
 * the {@linkcode ReportInput}, so rebuilding a report from the same records
 * gives identical files. Every file is written atomically (a temporary
 * file renamed into place), so a full disk or a crash leaves the previous
 * file or none, never a truncated one.
 *
 * @module
 */
import { join } from "node:path";
import type { MetricName } from "../../train/types.ts";
import type { ReportInput } from "./types.ts";
import { writeFileAtomic } from "../store.ts";
import {
  confusionSpec,
  type CurveRun,
  curvesSpec,
  findFonts,
  type FontInfo,
  renderSvg,
  svgToPng,
} from "./charts.ts";
import {
  cellText,
  csvTable,
  fmt,
  groupLabel,
  jsonReport,
  kernelWarning,
  markdownTable,
  metricLabel,
  type ReportSummary,
  summarizeReport,
} from "./table.ts";

/**
 * A file-name-safe slug: lower case, runs of other characters replaced by
 * `-` (`MERba (DGCM)` → `merba-dgcm`).
 *
 * @param s any name.
 */
export function slug(s: string): string {
  const out = s.toLowerCase().replace(/[^a-z0-9._]+/g, "-").replace(
    /^-+|-+$/g,
    "",
  );
  return out.length > 0 ? out : "x";
}

/** Unique slugs for a list of names, in order (`a`, `a-2`, …). */
function uniqueSlugs(names: string[]): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const name of names) {
    if (out.has(name)) continue;
    const base = slug(name);
    let s = base;
    for (let i = 2; used.has(s); i++) s = `${base}-${i}`;
    used.add(s);
    out.set(name, s);
  }
  return out;
}

function htmlEscape(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(
    ">",
    "&gt;",
  ).replaceAll('"', "&quot;");
}

interface Figure {
  title: string;
  svg: string;
  png: string;
}

function htmlTable(summary: ReportSummary): string {
  const cols = summary.groups.flatMap((g) =>
    summary.metrics.map((m) => [g, m] as [string, MetricName])
  );
  const head = [
    "Method",
    ...cols.map(([g, m]) => `${groupLabel(g)} ${metricLabel(m)}`),
    "Kernels",
  ];
  const rows: string[][] = [];
  for (const method of [...new Set(summary.references.map((r) => r.method))]) {
    rows.push([
      method,
      ...cols.map(([g, m]) =>
        fmt(
          summary.references.find((r) => r.method === method && r.group === g)
            ?.values[m],
        )
      ),
      "",
    ]);
  }
  for (const variant of [...new Set(summary.rows.map((r) => r.variant))]) {
    const ours = summary.rows.filter((r) => r.variant === variant);
    const kernels = [...new Set(ours.flatMap((r) => r.kernelSets))].sort();
    rows.push([
      `${variant} (ours${variant === summary.reference ? ", reference" : ""})`,
      ...cols.map(([g, m]) => {
        const row = ours.find((r) => r.group === g);
        return row
          ? cellText(row.metrics[m], row.vsReference?.metrics[m])
          : "–";
      }),
      kernels.length > 0 ? kernels.join(", ") : "–",
    ]);
  }
  const tr = (cells: string[], tag: string) =>
    `<tr>${
      cells.map((c) => `<${tag}>${htmlEscape(c)}</${tag}>`).join("")
    }</tr>`;
  return `<table>\n<thead>${tr(head, "th")}</thead>\n<tbody>\n${
    rows.map((r) => tr(r, "td")).join("\n")
  }\n</tbody>\n</table>`;
}

/**
 * Writes the report files (see the module doc) and returns their paths.
 *
 * @param input the report input.
 * @param outDir the folder to write into (created when missing).
 */
export async function writeReport(
  input: ReportInput,
  outDir: string,
): Promise<string[]> {
  if (input.classes.length === 0) {
    throw new Error(`report "${input.name}": no classes`);
  }
  if (input.metrics.length === 0) {
    throw new Error(`report "${input.name}": no metrics to report`);
  }
  const summary = summarizeReport(input);
  const font = findFonts();
  const written: string[] = [];
  const write: WriteFile = async (rel, data) => {
    const path = join(outDir, rel);
    await writeFileAtomic(path, data);
    written.push(path);
  };
  await Deno.mkdir(join(outDir, "confusion"), { recursive: true });
  await Deno.mkdir(join(outDir, "curves"), { recursive: true });
  const base = slug(input.name);

  const table = markdownTable(summary);
  await write(`${base}.csv`, csvTable(summary));
  await write(`${base}.json`, jsonReport(summary));
  const page: Page = {
    input,
    summary,
    base,
    table,
    confusion: await writeConfusionFigures(summary, font, write),
    curves: await writeCurveFigures(input, font, write),
    notes: reportNotes(summary, font),
    warning: kernelWarning(summary),
  };
  await write(`${base}.md`, markdownPage(page));
  await write("index.md", indexPage(page));
  await write("index.html", htmlPage(page));

  const meta = {
    generatedAt: new Date().toISOString(),
    report: input.name,
    font: font.files.length > 0 ? font.files[0] : null,
    fontNote: font.note,
    versions: { deno: Deno.version.deno },
  };
  await write("meta.json", JSON.stringify(meta, null, 2) + "\n");
  return written;
}

/** Writes a file of the report (path relative to its folder). */
type WriteFile = (rel: string, data: string | Uint8Array) => Promise<void>;

/** What the three pages (markdown table, index, HTML) are made of. */
interface Page {
  input: ReportInput;
  summary: ReportSummary;
  /** the file name stem of the table files. */
  base: string;
  /** the markdown table. */
  table: string;
  confusion: Figure[];
  curves: Figure[];
  notes: string[];
  /** the mixed-kernel-set warning, if any. */
  warning: string | null;
}

/** One confusion matrix per row that has results (SVG and PNG). */
async function writeConfusionFigures(
  summary: ReportSummary,
  font: FontInfo,
  write: WriteFile,
): Promise<Figure[]> {
  const variantSlugs = uniqueSlugs(summary.rows.map((r) => r.variant));
  const confusion: Figure[] = [];
  for (const row of summary.rows) {
    if (row.seeds === 0) continue;
    const name = `${variantSlugs.get(row.variant)}__${slug(row.group)}`;
    const seeds = row.seeds === 1 ? "1 seed" : `Σ over ${row.seeds} seeds`;
    const title = `${row.variant} — ${groupLabel(row.group)} (${seeds})`;
    const svg = await renderSvg(
      confusionSpec(row.confusion, summary.classes, title),
      font.family,
    );
    await write(`confusion/${name}.svg`, svg);
    await write(`confusion/${name}.png`, await svgToPng(svg, font));
    confusion.push({
      title,
      svg: `confusion/${name}.svg`,
      png: `confusion/${name}.png`,
    });
  }
  return confusion;
}

/** One learning-curve chart per variant with recorded epochs (SVG and PNG). */
async function writeCurveFigures(
  input: ReportInput,
  font: FontInfo,
  write: WriteFile,
): Promise<Figure[]> {
  const curves: Figure[] = [];
  const curveMetric = input.metrics[0];
  const curveVariants = [...new Set(input.curves.map((c) => c.variant))];
  const curveSlugs = uniqueSlugs(curveVariants);
  for (const variant of curveVariants) {
    const runs: CurveRun[] = input.curves
      .filter((c) => c.variant === variant && c.epochs.length > 0)
      .map((c) => ({ seed: c.seed, fold: c.fold, epochs: c.epochs }));
    if (runs.length === 0) continue;
    const name = curveSlugs.get(variant)!;
    const title = `${variant} — learning curves (${runs.length} run${
      runs.length === 1 ? "" : "s"
    })`;
    const svg = await renderSvg(
      curvesSpec(runs, curveMetric, title),
      font.family,
    );
    await write(`curves/${name}.svg`, svg);
    await write(`curves/${name}.png`, await svgToPng(svg, font));
    curves.push({
      title,
      svg: `curves/${name}.svg`,
      png: `curves/${name}.png`,
    });
  }
  return curves;
}

/** The notes under the table: how to read it, absent classes, fonts. */
function reportNotes(summary: ReportSummary, font: FontInfo): string[] {
  const absentNotes = summary.rows
    .filter((r) => r.absent.length > 0)
    .map((r) =>
      `- ${r.variant} / ${groupLabel(r.group)}: no true sample of ${
        r.absent.join(", ")
      } (excluded from UF1/UAR; their predictions count as errors)`
    );
  const subjects = [...new Set(summary.rows.map((r) => r.subjects))].sort((
    a,
    b,
  ) => a - b);
  return [
    `Ours: mean over seeds of the metric computed on all folds' predictions concatenated, then its 95% interval [lo, hi]: ${summary.bootstrap.method}; ${summary.bootstrap.resamples} resamples of the ${
      subjects.join("/")
    } test subjects, seeded (report seed ${summary.bootstrap.seed}). The interval covers which test subjects happened to be in the data, not the training seeds (their standard deviation is in the CSV and JSON). ${
      summary.reference === null
        ? "No reference variant: no paired comparisons."
        : `▲/▼: the paired difference to the reference ${summary.reference} (same group) has a 95% interval above/below 0; the CSV and JSON give every difference with its interval and p.`
    } \`paper\` is the published number, Δ = ours − paper. Kernels: the kernel set each row's jobs ran on.`,
    ...(absentNotes.length > 0
      ? ["Classes absent from a row's ground truth:", ...absentNotes]
      : []),
    ...(font.note ? [`Figures: ${font.note}.`] : []),
  ];
}

/** The table page (`<name>.md`). */
function markdownPage(p: Page): string {
  const loud = p.warning ? [`**${p.warning}**`, ""] : [];
  return [
    `# ${p.input.name}`,
    "",
    p.input.description,
    "",
    `Dataset: ${p.input.dataset}. Classes: ${p.input.classes.join(", ")}.`,
    "",
    ...loud,
    p.table,
    `${p.summary.conclusion}`,
    "",
    ...p.notes.map((n) => (n.startsWith("- ") ? n : `${n}\n`)),
    "",
  ].join("\n");
}

/** The markdown index (`index.md`): the table, links to files and figures. */
function indexPage(p: Page): string {
  const base = p.base;
  const loud = p.warning ? [`**${p.warning}**`, ""] : [];
  return [
    `# Report: ${p.input.name}`,
    "",
    p.input.description,
    "",
    `- Table: [${base}.md](${base}.md) · [CSV](${base}.csv) · [JSON](${base}.json) · [HTML](index.html)`,
    `- Run information: [meta.json](meta.json)`,
    "",
    ...loud,
    p.table,
    `${p.summary.conclusion}`,
    "",
    "## Confusion matrices",
    "",
    ...(p.confusion.length === 0
      ? ["(none)"]
      : p.confusion.map((f) =>
        `- ${f.title}: [SVG](${f.svg}) · [PNG](${f.png})`
      )),
    "",
    "## Learning curves",
    "",
    ...(p.curves.length === 0
      ? ["(none)"]
      : p.curves.map((f) => `- ${f.title}: [SVG](${f.svg}) · [PNG](${f.png})`)),
    "",
    ...p.notes.map((n) => (n.startsWith("- ") ? n : `${n}\n`)),
    "",
  ].join("\n");
}

/** The HTML page (`index.html`): the table and the figures inline. */
function htmlPage(p: Page): string {
  const { input, summary, base, warning } = p;
  const fig = (f: Figure) =>
    `<figure><img src="${htmlEscape(f.svg)}" alt="${
      htmlEscape(f.title)
    }"><figcaption>${htmlEscape(f.title)} (<a href="${
      htmlEscape(f.png)
    }">PNG</a>)</figcaption></figure>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${htmlEscape(input.name)}</title>
<style>
body { font-family: "DejaVu Sans", sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { display: inline-block; margin: 1em; vertical-align: top; }
</style>
</head>
<body>
<h1>${htmlEscape(input.name)}</h1>
<p>${htmlEscape(input.description)}</p>
<p>Dataset: ${
    htmlEscape(input.dataset)
  }. Files: <a href="${base}.md">markdown</a>, <a href="${base}.csv">CSV</a>, <a href="${base}.json">JSON</a>, <a href="meta.json">meta</a>.</p>
${
    warning
      ? `<p style="color:#b00;font-weight:bold">${htmlEscape(warning)}</p>\n`
      : ""
  }${htmlTable(summary)}
<p>${htmlEscape(summary.conclusion)}</p>
${p.notes.map((n) => `<p>${htmlEscape(n)}</p>`).join("\n")}
<h2>Confusion matrices</h2>
${p.confusion.map(fig).join("\n")}
<h2>Learning curves</h2>
${p.curves.map(fig).join("\n")}
</body>
</html>
`;
}
