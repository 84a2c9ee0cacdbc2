/**
 * SAMM adapter.
 *
 * Expected layout (as distributed by the SAMM authors):
 *
 * ```
 * <root>/
 *   SAMM_Micro_FACS_Codes_v2.xlsx        any single `SAMM_Micro_FACS_Codes*.xlsx`
 *   SAMM/                                option `framesDir`
 *     006/006_1_2/006_05562.jpg …        `<subject>_<zero-padded frame>.jpg`
 * ```
 *
 * Sheet columns (first worksheet; the header row is found below the title
 * rows by name): `Subject` (`006` or 6), `Filename` (`006_1_2`),
 * `Onset Frame`, `Apex Frame`, `Offset Frame`, `Estimated Emotion`. Frames
 * are matched by number, so the padding width does not matter. An apex of
 * `-1` is estimated (see `apex.ts`). Records: id `samm/006/006_1_2`,
 * subject `samm/006`, label = the annotated emotion in lower case.
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

/** Options of {@link loadSamm}. */
export interface SammOptions extends AdapterOptions {
  /** frames folder under the root (default `SAMM`). */
  framesDir?: string;
  /** FACS sheet path (default: the single `SAMM_Micro_FACS_Codes*.xlsx`). */
  annotations?: string;
}

const COLS = [
  "Subject",
  "Filename",
  "Onset Frame",
  "Apex Frame",
  "Offset Frame",
  "Estimated Emotion",
] as const;

/** Reads SAMM's FACS coding sheet and frame folders into records. */
export async function loadSamm(
  root: string,
  options: SammOptions = {},
): Promise<CorpusRecord[]> {
  const sheet = options.annotations ??
    await findAnnotationFile(
      root,
      /^SAMM_Micro_FACS_Codes.*\.xlsx$/i,
      "SAMM FACS sheet",
    );
  const framesRoot = join(root, options.framesDir ?? "SAMM");
  const rows = await readXlsxTable(sheet, COLS);
  const out: CorpusRecord[] = [];
  for (const { row, cells } of rows) {
    const ctx = `${sheet} row ${row}`;
    const sub = padNumber(cells.Subject, 3, ctx + " (Subject)");
    const clip = cells.Filename.trim();
    if (!clip) throw new Error(`${ctx}: empty Filename`);
    const emotion = normaliseLabel(cells["Estimated Emotion"]);
    if (!emotion) throw new Error(`${ctx}: empty Estimated Emotion`);
    const onset = parseFrameCell(cells["Onset Frame"], ctx + " (Onset Frame)");
    if (onset === undefined) throw new Error(`${ctx}: Onset Frame is missing`);
    const apex = parseFrameCell(cells["Apex Frame"], ctx + " (Apex Frame)");
    const offset = parseFrameCell(
      cells["Offset Frame"],
      ctx + " (Offset Frame)",
    );
    out.push(
      await codedClipRecord({
        source: "samm",
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
