/**
 * Reports of an experiment: the paper-layout table (markdown, CSV, JSON)
 * with the paper's numbers beside ours, confusion matrices and learning
 * curves (SVG and PNG), and a summary page.
 *
 * @example Write a report folder
 * ```ts
 * import { writeReport } from "./mod.ts";
 * import type { ReportInput } from "../engine_types.ts";
 * declare const input: ReportInput;
 * const files = await writeReport(input, "runs/table4/report");
 * ```
 *
 * @module
 */
export type {
  EpochRecord,
  MetricName,
  Prediction,
  ReferenceRow,
  ReportInput,
  ReportRow,
} from "../engine_types.ts";
export { slug, writeReport } from "./write.ts";
export {
  cellText,
  csvTable,
  fmt,
  groupLabel,
  jsonReport,
  markdownTable,
  metricLabel,
  type MetricSummary,
  type ReportSummary,
  type RowSummary,
  summarizeReport,
} from "./table.ts";
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
