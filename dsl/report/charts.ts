/**
 * Report charts: confusion matrices and learning curves as vega-lite specs,
 * rendered headless (vega-lite → vega → SVG with the `none` renderer) and
 * rasterised to PNG with resvg.
 *
 * Fonts: resvg draws text only with fonts it can load. {@linkcode findFonts}
 * looks for DejaVu Sans (Debian's `fonts-dejavu-core`) and a few common
 * alternatives; when none is found, resvg falls back to scanning the system
 * fonts and {@linkcode FontInfo.note} says that PNG text may be missing.
 *
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import type { EpochRecord, MetricName } from "../../train/types.ts";
import { metricLabel } from "./table.ts";

/**
 * A vega-lite specification as a plain JSON object (the charts below build
 * them; {@linkcode renderSvg} compiles and renders one).
 */
export type ChartSpec = Record<string, unknown>;

/** The font resvg uses for PNGs. */
export interface FontInfo {
  /** font files passed to resvg (empty: system fonts scanned). */
  files: string[];
  /** the family name used for every text. */
  family: string;
  /** a caveat when no known font file was found. */
  note: string | null;
}

const FONT_CANDIDATES: [string, string][] = [
  ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVu Sans"],
  ["/usr/share/fonts/TTF/DejaVuSans.ttf", "DejaVu Sans"],
  ["/usr/share/fonts/dejavu/DejaVuSans.ttf", "DejaVu Sans"],
  [
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "Liberation Sans",
  ],
  ["/System/Library/Fonts/Supplemental/Arial.ttf", "Arial"],
  ["C:\\Windows\\Fonts\\arial.ttf", "Arial"],
];

/** Finds a font file for PNG text (see the module doc). */
export function findFonts(): FontInfo {
  for (const [file, family] of FONT_CANDIDATES) {
    try {
      if (Deno.statSync(file).isFile) {
        return { files: [file], family, note: null };
      }
    } catch {
      // not here; try the next one
    }
  }
  return {
    files: [],
    family: "sans-serif",
    note:
      "no DejaVu/Liberation/Arial font file found: PNG text relies on system fonts and may be missing (install fonts-dejavu-core); the SVGs are unaffected",
  };
}

/**
 * Renders a vega-lite spec to an SVG string (headless).
 *
 * @param spec a vega-lite top-level spec.
 * @param font the font family written into the SVG text.
 */
export async function renderSvg(
  spec: ChartSpec,
  font = "DejaVu Sans",
): Promise<string> {
  const withFont = {
    ...spec,
    config: {
      font,
      background: "white",
      ...(spec.config as Record<string, unknown> ?? {}),
    },
  } as unknown as vl.TopLevelSpec;
  const compiled = vl.compile(withFont).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return canonicalIds(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * Renames the element ids of an SVG (`gradient_7`, `clip3`, …, which vega
 * numbers with process-wide counters) to `id0`, `id1`, … in order of first
 * appearance, with their `url(#…)` and `href="#…"` references, so the same
 * chart always gives the same bytes.
 */
function canonicalIds(svg: string): string {
  const ids = new Map<string, string>();
  for (const m of svg.matchAll(/\bid="([^"]+)"/g)) {
    if (!ids.has(m[1])) ids.set(m[1], `id${ids.size}`);
  }
  if (ids.size === 0) return svg;
  const rename = (id: string) => ids.get(id) ?? id;
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id) => `id="${rename(id)}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id) => `url(#${rename(id)})`)
    .replace(/href="#([^"]+)"/g, (_, id) => `href="#${rename(id)}"`);
}

/** The part of `@resvg/resvg-js` used here. */
interface ResvgLike {
  width: number;
  height: number;
  render(): {
    pixels: Uint8Array;
    width: number;
    height: number;
    asPng(): Uint8Array;
  };
}
type ResvgCtor = new (
  svg: string,
  options?: Record<string, unknown>,
) => ResvgLike;

let resvgCtor: ResvgCtor | undefined;

/** Loads resvg (on first use: only reports with figures need it). */
async function loadResvg(): Promise<ResvgCtor> {
  if (!resvgCtor) {
    const mod = await import("@resvg/resvg-js");
    resvgCtor = mod.Resvg as ResvgCtor;
  }
  return resvgCtor;
}

function resvgOptions(font: FontInfo, scale: number): Record<string, unknown> {
  return {
    background: "white",
    fitTo: { mode: "zoom", value: scale },
    font: {
      fontFiles: font.files,
      loadSystemFonts: font.files.length === 0,
      defaultFontFamily: font.family,
      sansSerifFamily: font.family,
    },
  };
}

/**
 * Rasterises an SVG to PNG bytes with resvg.
 *
 * @param svg the SVG text.
 * @param font fonts from {@linkcode findFonts}.
 * @param scale pixel density (2: twice the SVG's size).
 */
export async function svgToPng(
  svg: string,
  font: FontInfo,
  scale = 2,
): Promise<Uint8Array> {
  const Resvg = await loadResvg();
  return new Uint8Array(
    new Resvg(svg, resvgOptions(font, scale)).render().asPng(),
  );
}

/** A rasterised image: RGBA pixels, row-major. */
export interface Raster {
  /** width in pixels. */
  width: number;
  /** height in pixels. */
  height: number;
  /** RGBA bytes, 4 per pixel. */
  pixels: Uint8Array;
}

/**
 * Parses and rasterises an SVG (throws on malformed SVG), returning its
 * pixels; used to check figures.
 *
 * @param svg the SVG text.
 * @param font fonts from {@linkcode findFonts}.
 * @param scale pixel density.
 */
export async function rasterize(
  svg: string,
  font: FontInfo,
  scale = 1,
): Promise<Raster> {
  const Resvg = await loadResvg();
  const img = new Resvg(svg, resvgOptions(font, scale)).render();
  return {
    width: img.width,
    height: img.height,
    pixels: new Uint8Array(img.pixels),
  };
}

/**
 * A confusion-matrix heat map: rows = true class, columns = predicted
 * class, cells annotated with counts.
 *
 * @param confusion confusion[true][pred].
 * @param classes class names.
 * @param title chart title.
 */
export function confusionSpec(
  confusion: number[][],
  classes: readonly string[],
  title: string,
): ChartSpec {
  const values = confusion.flatMap((row, t) =>
    row.map((count, p) => ({
      truth: classes[t],
      predicted: classes[p],
      count,
    }))
  );
  const max = Math.max(1, ...values.map((v) => v.count));
  const axis = (field: string, title: string) => ({
    field,
    type: "nominal" as const,
    sort: [...classes],
    title,
  });
  const size = Math.max(120, 34 * classes.length);
  return {
    title,
    width: size,
    height: size,
    data: { values },
    encoding: {
      x: { ...axis("predicted", "predicted"), axis: { labelAngle: -40 } },
      y: axis("truth", "true"),
    },
    layer: [
      {
        mark: "rect",
        encoding: {
          color: {
            field: "count",
            type: "quantitative",
            scale: { scheme: "blues", domain: [0, max] },
            title: "count",
          },
        },
      },
      {
        mark: { type: "text", fontSize: 11 },
        encoding: {
          text: { field: "count", type: "quantitative" },
          color: {
            condition: { test: `datum.count > ${max / 2}`, value: "white" },
            value: "black",
          },
        },
      },
    ],
  };
}

/** The runs of one variant whose curves are drawn together. */
export interface CurveRun {
  /** the run's root seed. */
  seed: number;
  /** the run's fold name. */
  fold: string;
  /** its epoch records. */
  epochs: EpochRecord[];
}

/**
 * Learning curves of one variant: training and validation loss per epoch
 * (left) and the validation metric per epoch (right, when any run has
 * validation), one line per run (seed × fold), coloured by seed.
 *
 * @param runs the runs.
 * @param metric the validation metric to draw.
 * @param title chart title.
 */
export function curvesSpec(
  runs: readonly CurveRun[],
  metric: MetricName,
  title: string,
): ChartSpec {
  const loss: Record<string, unknown>[] = [];
  const score: Record<string, unknown>[] = [];
  for (const r of runs) {
    const run = `seed ${r.seed} · ${r.fold}`;
    for (const e of r.epochs) {
      const base = { run, seed: `seed ${r.seed}`, epoch: e.epoch };
      loss.push({ ...base, series: "train", value: e.trainLoss });
      if (e.validation) {
        loss.push({ ...base, series: "validation", value: e.validation.loss });
        score.push({ ...base, value: e.validation[metric] });
      }
    }
  }
  const lossChart = {
    title: "loss",
    width: 260,
    height: 180,
    data: { values: loss },
    mark: { type: "line" as const, strokeWidth: 1.2, opacity: 0.8 },
    encoding: {
      x: {
        field: "epoch",
        type: "quantitative" as const,
        axis: { tickMinStep: 1, format: "d" },
      },
      y: { field: "value", type: "quantitative" as const, title: "loss" },
      color: { field: "series", type: "nominal" as const, title: "" },
      detail: { field: "run", type: "nominal" as const },
    },
  };
  if (score.length === 0) return { ...lossChart, title };
  const scoreChart = {
    title: `validation ${metricLabel(metric)}`,
    width: 260,
    height: 180,
    data: { values: score },
    mark: { type: "line" as const, strokeWidth: 1.2, opacity: 0.8 },
    encoding: {
      x: {
        field: "epoch",
        type: "quantitative" as const,
        axis: { tickMinStep: 1, format: "d" },
      },
      y: {
        field: "value",
        type: "quantitative" as const,
        title: metricLabel(metric),
      },
      color: { field: "seed", type: "nominal" as const, title: "" },
      detail: { field: "run", type: "nominal" as const },
    },
  };
  return {
    title,
    hconcat: [lossChart, scoreChart],
    resolve: { scale: { color: "independent" } },
  };
}
