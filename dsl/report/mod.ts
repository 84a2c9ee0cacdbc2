/**
 * Reports of an experiment: the paper-layout table (markdown, CSV, JSON)
 * with the paper's numbers beside ours, 95% subject-bootstrap intervals and
 * paired comparisons with a reference variant, the kernel set of each row,
 * confusion matrices and learning curves (SVG and PNG), a summary page, and
 * the same table for the terminal ({@linkcode formatResultTable}).
 *
 * @example Write a report folder
 * ```ts
 * import { writeReport } from "./mod.ts";
 * import type { ReportInput } from "./types.ts";
 * declare const input: ReportInput;
 * const files = await writeReport(input, "runs/table4/report");
 * ```
 *
 * @module
 */
export type { EpochRecord, MetricName, Prediction } from "../../train/types.ts";
export type { ReferenceRow, ReportInput, ReportRow } from "./types.ts";
export { slug, writeReport } from "./write.ts";
export {
  cellText,
  ciText,
  csvTable,
  differs,
  fmt,
  fmtP,
  formatResultTable,
  groupLabel,
  jsonReport,
  kernelWarning,
  mark,
  markdownTable,
  metricLabel,
  type MetricSummary,
  type ReportSummary,
  type RowSummary,
  summarizeReport,
  type VsReference,
} from "./table.ts";
export {
  BOOTSTRAP_METRICS,
  bootstrapGroup,
  type BootstrapOptions,
  bootstrapP,
  type BootstrapRow,
  DEFAULT_RESAMPLES,
  type GroupBootstrap,
  type MetricInterval,
  type PairedDifference,
} from "./bootstrap.ts";
export {
  type ChartSpec,
  confusionSpec,
  type CurveRun,
  curvesSpec,
  findFonts,
  type FontInfo,
  type Raster,
  rasterize,
  renderSvg,
  svgToPng,
} from "./charts.ts";
