/**
 * DFME adapter (7 classes, fixed subject-disjoint splits).
 *
 * DFME is distributed for the MEGC/CCAC challenges with per-split
 * annotation sheets; this toolkit reads it in the following documented
 * layout (convert the sheets to it once):
 *
 * ```
 * <root>/
 *   train.csv  testA.csv  testB.csv   any non-empty subset; split = file stem
 *   frames/<sample>/<images>          one folder per sample id
 * ```
 *
 * Each CSV has a header row with the columns (case-, space- and
 * underscore-insensitive): `sample` (id, also the frame folder name),
 * `subject`, `onset`, `apex`, `label`, and optionally `offset`. `onset`,
 * `apex`, `offset` are frame numbers (matched against the last integer in
 * the image file names, so `img001.jpg`, `0001.png` and `1` all work) or the
 * image file names themselves; an empty `apex` is estimated (see `apex.ts`).
 * `label` is one of anger, contempt, disgust, fear, happiness, sadness,
 * surprise (case-insensitive). A subject may appear in only one split
 * (DFME's splits are subject-disjoint); a sample id only once.
 *
 * Records: id `dfme/<sample>`, subject `dfme/<subject>`, split = file stem.
 *
 * @module
 */
import { join } from "node:path";
import { readCsvTable } from "./csv.ts";
import { frameNumber, parseFrameCell } from "./frames.ts";
import {
  type AdapterOptions,
  type CorpusRecord,
  resolveClipFrames,
  sortById,
} from "./common.ts";
import { toEmotion7 } from "./labels.ts";

/** The DFME split files, in order. */
export const DFME_SPLITS: readonly string[] = ["train", "testA", "testB"];

function frameCell(text: string, ctx: string): number | undefined {
  const t = text.trim();
  if (/\.[a-z]+$/i.test(t)) {
    const n = frameNumber(t);
    if (n < 0) throw new Error(`${ctx}: "${text}" has no frame number`);
    return n;
  }
  return parseFrameCell(t, ctx);
}

/** Reads the DFME layout described above into records. */
export async function loadDfme(
  root: string,
  options: AdapterOptions = {},
): Promise<CorpusRecord[]> {
  try {
    if (!(await Deno.stat(root)).isDirectory) throw new Error();
  } catch {
    throw new Error(`corpus root ${root} does not exist or is not a folder`);
  }
  const out: CorpusRecord[] = [];
  const subjectSplit = new Map<string, string>();
  const seen = new Map<string, string>();
  let files = 0;
  for (const split of DFME_SPLITS) {
    const path = join(root, `${split}.csv`);
    try {
      await Deno.stat(path);
    } catch {
      continue;
    }
    files++;
    const t = await readCsvTable(path);
    const col = (name: string, required: boolean) => {
      const i = t.column(name);
      if (i < 0 && required) {
        throw new Error(
          `${path}: missing column "${name}" (header: ${t.header.join(", ")})`,
        );
      }
      return i;
    };
    const cSample = col("sample", true), cSubject = col("subject", true);
    const cOnset = col("onset", true), cApex = col("apex", true);
    const cLabel = col("label", true), cOffset = col("offset", false);
    for (const r of t.rows) {
      const ctx = `${path} line ${r.line}`;
      const f = (i: number) => (i >= 0 ? (r.fields[i] ?? "").trim() : "");
      const sample = f(cSample), subjectRaw = f(cSubject);
      if (!sample) throw new Error(`${ctx}: empty sample`);
      if (!subjectRaw) throw new Error(`${ctx}: empty subject`);
      const label = toEmotion7(f(cLabel), ctx);
      const id = `dfme/${sample}`;
      const prev = seen.get(id);
      if (prev) {
        throw new Error(`${ctx}: sample "${sample}" already at ${prev}`);
      }
      seen.set(id, ctx);
      const subject = `dfme/${subjectRaw}`;
      const other = subjectSplit.get(subject);
      if (other !== undefined && other !== split) {
        throw new Error(
          `${ctx}: subject "${subjectRaw}" is in both ${other} and ${split} (DFME splits are subject-disjoint)`,
        );
      }
      subjectSplit.set(subject, split);
      const onset = frameCell(f(cOnset), ctx + " (onset)");
      if (onset === undefined) throw new Error(`${ctx}: onset is missing`);
      const { frames, estimated } = await resolveClipFrames(
        join(root, "frames", sample),
        onset,
        frameCell(f(cApex), ctx + " (apex)"),
        cOffset >= 0 ? frameCell(f(cOffset), ctx + " (offset)") : undefined,
        ctx,
        options.apexMethod,
      );
      if (estimated) options.onApexEstimated?.(id, frames.apex);
      out.push({
        id,
        subject,
        source: "dfme",
        label,
        emotion: label,
        split,
        frames,
        apexEstimated: estimated,
        origin: ctx,
      });
    }
  }
  if (files === 0) {
    throw new Error(
      `${root}: no split file found (expected one or more of ${
        DFME_SPLITS.map((s) => s + ".csv").join(", ")
      })`,
    );
  }
  if (out.length === 0) {
    throw new Error(`${root}: the split files have no rows`);
  }
  return sortById(out);
}
