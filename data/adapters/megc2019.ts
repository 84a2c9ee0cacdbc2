/**
 * MEGC2019 composite (3DB) adapter: SMIC-HS + CASME II + SAMM with three
 * classes (negative, positive, surprise), subjects unique across sources.
 *
 * Expected layout:
 *
 * ```
 * <root>/
 *   megc2019.csv        the composite list (or option `annotations`; if
 *                       absent, the single *.csv in <root>; if there is none,
 *                       the composite is built from the three corpora with
 *                       MEGC2019_CLASS_MAP, see labels.ts)
 *   casme2/             a CASME II root (see casme2.ts)
 *   samm/               a SAMM root (see samm.ts)
 *   smic/               a SMIC root (see smic.ts)
 * ```
 *
 * CSV columns (header row; case/space/underscore-insensitive): `dataset`
 * (`smic`, `casme2`/`CASME II`, `samm`, or any other source name for the
 * generic layout below), `sub`, `filename_o` (clip name), `label`, optional
 * `onset_frame`/`onset`, `apex_frame`/`apex`, `offset_frame`/`offset`.
 * `label` is a class name (`negative`, `positive`, `surprise`), a class
 * index 0/1/2 in that order, or a source emotion mapped with
 * MEGC2019_CLASS_MAP (an emotion the protocol excludes is an error there).
 *
 * Each row is resolved in one of two ways:
 * - generic clip layout: if `<root>/<dataset>/<sub>/<filename_o>/` is a
 *   folder, its frames are used with the row's onset/apex/offset numbers
 *   (onset default: first frame; apex default: estimated); subject
 *   `<dataset>/<sub>`. The synthetic composite is written this way.
 * - corpus layout: otherwise `dataset` must be casme2, samm or smic and the
 *   clip is looked up in that corpus under `<root>/<dataset>/` by subject
 *   (compared by number, so `1`, `01`, `sub01`, `s1` all match) and clip
 *   name; frames come from the corpus annotation (row frame numbers, when
 *   given, override them).
 *
 * Every row must resolve; a row naming a clip that does not exist is an
 * error naming the CSV line. Records keep `source` = the dataset.
 *
 * @module
 */
import { join } from "node:path";
import { CLASSES_3 } from "../types.ts";
import { readCsvTable } from "./csv.ts";
import { loadCasme2 } from "./casme2.ts";
import { loadSamm } from "./samm.ts";
import { loadSmic } from "./smic.ts";
import { parseFrameCell } from "./frames.ts";
import {
  type AdapterOptions,
  type CorpusRecord,
  resolveClipFrames,
  sortById,
} from "./common.ts";
import {
  type Class3,
  type CompositeSource,
  MEGC2019_CLASS_MAP,
  normaliseLabel,
  toClass3,
} from "./labels.ts";

/** Options of {@link loadMegc2019}. */
export interface Megc2019Options extends AdapterOptions {
  /** composite CSV path (default: `<root>/megc2019.csv`, else the single CSV). */
  annotations?: string;
}

/** Maps spellings of the source names to `casme2`, `samm`, `smic`. */
export function compositeSourceName(dataset: string): string {
  const d = dataset.trim().toLowerCase().replace(/[^a-z0-9]/g, "");
  if (d === "casme2" || d === "casmeii" || d === "casme") return "casme2";
  if (d === "samm") return "samm";
  if (d === "smic" || d === "smichs" || d === "hs") return "smic";
  return dataset.trim();
}

function subjectNumber(s: string): number {
  const m = s.match(/(\d+)(?!.*\d)/);
  return m ? Number(m[1]) : NaN;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await Deno.stat(p)).isDirectory;
  } catch {
    return false;
  }
}

async function findCsv(root: string): Promise<string | undefined> {
  const preferred = join(root, "megc2019.csv");
  try {
    await Deno.stat(preferred);
    return preferred;
  } catch { /* look for another */ }
  const found: string[] = [];
  for await (const e of Deno.readDir(root)) {
    if (e.isFile && e.name.toLowerCase().endsWith(".csv")) found.push(e.name);
  }
  if (found.length > 1) {
    throw new Error(
      `${root}: several CSV files (${
        found.sort().join(", ")
      }); name the composite list megc2019.csv or pass annotations`,
    );
  }
  return found.length ? join(root, found[0]) : undefined;
}

function parseClass(
  label: string,
  source: string,
  ctx: string,
): Class3 {
  const l = normaliseLabel(label);
  if ((CLASSES_3 as readonly string[]).includes(l)) return l as Class3;
  if (/^\d+$/.test(l)) {
    const i = Number(l);
    if (i < CLASSES_3.length) return CLASSES_3[i];
    throw new Error(`${ctx}: class index ${l} out of range 0..2`);
  }
  if (source in MEGC2019_CLASS_MAP) {
    const c = toClass3(source as CompositeSource, l, ctx);
    if (c === null) {
      throw new Error(
        `${ctx}: ${source} emotion "${label}" is excluded from the MEGC2019 composite`,
      );
    }
    return c;
  }
  throw new Error(
    `${ctx}: unknown label "${label}" (expected ${
      CLASSES_3.join(", ")
    } or 0..2)`,
  );
}

/** Reads the MEGC2019 composite into records labelled with CLASSES_3. */
export async function loadMegc2019(
  root: string,
  options: Megc2019Options = {},
): Promise<CorpusRecord[]> {
  if (!await isDir(root)) throw new Error(`corpus root ${root} does not exist`);
  const csv = options.annotations ?? await findCsv(root);
  const corpora = new Map<string, Promise<CorpusRecord[]>>();
  const corpus = (src: CompositeSource): Promise<CorpusRecord[]> => {
    let p = corpora.get(src);
    if (!p) {
      const dir = join(root, src);
      const o = {
        onApexEstimated: options.onApexEstimated,
        apexMethod: options.apexMethod,
      };
      p = src === "casme2"
        ? loadCasme2(dir, o)
        : src === "samm"
        ? loadSamm(dir, o)
        : loadSmic(dir, o);
      corpora.set(src, p);
    }
    return p;
  };
  if (csv === undefined) {
    const out: CorpusRecord[] = [];
    for (const src of ["smic", "casme2", "samm"] as const) {
      for (const r of await corpus(src)) {
        const c = toClass3(src, r.emotion, r.origin);
        if (c !== null) out.push({ ...r, label: c });
      }
    }
    return sortById(out);
  }
  const t = await readCsvTable(csv);
  const col = (names: string[], required: boolean) => {
    const i = t.column(...names);
    if (i < 0 && required) {
      throw new Error(
        `${csv}: missing column "${names[0]}" (header: ${t.header.join(", ")})`,
      );
    }
    return i;
  };
  const cData = col(["dataset"], true), cSub = col(["sub", "subject"], true);
  const cClip = col(["filename_o", "filename", "clip"], true);
  const cLabel = col(["label", "class"], true);
  const cOn = col(["onset_frame", "onset"], false);
  const cApex = col(["apex_frame", "apex"], false);
  const cOff = col(["offset_frame", "offset"], false);
  const out: CorpusRecord[] = [];
  const seen = new Map<string, string>();
  for (const r of t.rows) {
    const ctx = `${csv} line ${r.line}`;
    const f = (i: number) => (i >= 0 ? (r.fields[i] ?? "").trim() : "");
    const dataset = f(cData), sub = f(cSub), clip = f(cClip);
    if (!dataset || !sub || !clip) {
      throw new Error(`${ctx}: dataset, sub and filename_o must be non-empty`);
    }
    const source = compositeSourceName(dataset);
    const label = parseClass(f(cLabel), source, ctx);
    const on = parseFrameCell(f(cOn), ctx + " (onset)");
    const apex = parseFrameCell(f(cApex), ctx + " (apex)");
    const off = parseFrameCell(f(cOff), ctx + " (offset)");
    const generic = join(root, dataset, sub, clip);
    let rec: CorpusRecord;
    if (await isDir(generic)) {
      const { frames, estimated } = await resolveClipFrames(
        generic,
        on,
        apex,
        off,
        ctx,
        options.apexMethod,
      );
      const id = `${dataset}/${sub}/${clip}`;
      if (estimated) options.onApexEstimated?.(id, frames.apex);
      rec = {
        id,
        subject: `${dataset}/${sub}`,
        source: dataset,
        label,
        emotion: normaliseLabel(f(cLabel)),
        frames,
        apexEstimated: estimated,
        origin: ctx,
      };
    } else {
      if (!(source in MEGC2019_CLASS_MAP)) {
        throw new Error(
          `${ctx}: no clip folder ${generic} and "${dataset}" is not a known corpus (casme2, samm, smic)`,
        );
      }
      const records = await corpus(source as CompositeSource);
      const n = subjectNumber(sub);
      const match = records.find((x) =>
        subjectNumber(x.subject) === n && x.id.endsWith("/" + clip)
      );
      if (!match) {
        throw new Error(
          `${ctx}: clip ${clip} of subject ${sub} not found in ${
            join(root, source)
          }`,
        );
      }
      rec = { ...match, label, origin: ctx };
      if (on !== undefined || apex !== undefined || off !== undefined) {
        const dir = match.frames!.onset.slice(
          0,
          match.frames!.onset.lastIndexOf("/"),
        );
        const { frames, estimated } = await resolveClipFrames(
          dir,
          on,
          apex,
          off,
          ctx,
          options.apexMethod,
        );
        rec = { ...rec, frames, apexEstimated: estimated };
      }
    }
    const prev = seen.get(rec.id);
    if (prev) {
      throw new Error(`${ctx}: clip ${rec.id} already listed at ${prev}`);
    }
    seen.set(rec.id, ctx);
    out.push(rec);
  }
  if (out.length === 0) throw new Error(`${csv}: no rows`);
  return sortById(out);
}
