/**
 * CASME II adapter.
 *
 * Expected layout (as distributed by the CASME II authors):
 *
 * ```
 * <root>/
 *   CASME2-coding-20140508.xlsx          any single `CASME2-coding*.xlsx`
 *   CASME2_RAW_selected/                 option `framesDir` (e.g. `Cropped`)
 *     sub01/EP02_01f/img46.jpg …         frames numbered by the last integer
 * ```
 *
 * Sheet columns (first worksheet, header row found by name): `Subject`
 * (1 or `01`), `Filename` (`EP02_01f`), `OnsetFrame`, `ApexFrame`,
 * `OffsetFrame`, `Estimated Emotion`. An apex cell of `/` (unannotated) is
 * estimated (see `apex.ts`). Records: id `casme2/sub01/EP02_01f`, subject
 * `casme2/sub01`, label = the annotated emotion in lower case.
 *
 * @module
 */
import { join } from "node:path";
import { readXlsxTable } from "./xlsx.ts";
import { parseFrameCell } from "./frames.ts";
import {
  type AdapterOptions,
  codedClipRecord,
  type CorpusRecord,
  findAnnotationFile,
  padNumber,
  sortById,
} from "./common.ts";
import { normaliseLabel } from "./labels.ts";

/** Options of {@link loadCasme2}. */
export interface Casme2Options extends AdapterOptions {
  /** frames folder under the root (default `CASME2_RAW_selected`). */
  framesDir?: string;
  /** coding sheet path (default: the single `CASME2-coding*.xlsx` in root). */
  annotations?: string;
}

const COLS = [
  "Subject",
  "Filename",
  "OnsetFrame",
  "ApexFrame",
  "OffsetFrame",
  "Estimated Emotion",
] as const;

/** Reads CASME II's coding sheet and frame folders into records. */
export async function loadCasme2(
  root: string,
  options: Casme2Options = {},
): Promise<CorpusRecord[]> {
  const sheet = options.annotations ??
    await findAnnotationFile(
      root,
      /^CASME2-coding.*\.xlsx$/i,
      "CASME II coding sheet",
    );
  const framesRoot = join(root, options.framesDir ?? "CASME2_RAW_selected");
  const rows = await readXlsxTable(sheet, COLS);
  const out: CorpusRecord[] = [];
  for (const { row, cells } of rows) {
    const ctx = `${sheet} row ${row}`;
    const sub = "sub" + padNumber(cells.Subject, 2, ctx + " (Subject)");
    const clip = cells.Filename.trim();
    if (!clip) throw new Error(`${ctx}: empty Filename`);
    const emotion = normaliseLabel(cells["Estimated Emotion"]);
    if (!emotion) throw new Error(`${ctx}: empty Estimated Emotion`);
    const onset = parseFrameCell(cells.OnsetFrame, ctx + " (OnsetFrame)");
    if (onset === undefined) throw new Error(`${ctx}: OnsetFrame is missing`);
    const apex = parseFrameCell(cells.ApexFrame, ctx + " (ApexFrame)");
    const offset = parseFrameCell(cells.OffsetFrame, ctx + " (OffsetFrame)");
    out.push(
      await codedClipRecord({
        source: "casme2",
        subject: sub,
        clip,
        framesRoot,
        onset,
        apex,
        offset,
        emotion,
        context: ctx,
      }, options),
    );
  }
  if (out.length === 0) throw new Error(`${sheet}: no data rows`);
  return sortById(out);
}
