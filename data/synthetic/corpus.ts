/**
 * Writing the synthetic benchmark to disk as a corpus of image files with
 * annotation files, in the layouts the real-corpus adapters read
 * (data/adapters/dfme.ts and data/adapters/megc2019.ts), so that the whole
 * prepare pipeline (decode → align/crop → resize → flow) can be exercised
 * without real data.
 *
 * `synthetic-dfme` (DFME-like layout):
 *
 * ```
 * <root>/
 *   README.txt                what this is (synthetic, not real data)
 *   train.csv testA.csv testB.csv
 *       header: sample,subject,onset,apex,label
 *       sample  clip id and frame folder name, e.g. s003_clip002
 *       subject e.g. s003 (each subject in exactly one split)
 *       onset, apex  frame numbers (onset 1; apex 4..12)
 *       label   one of EMOTIONS_7
 *   frames/<sample>/img0001.png   onset frame (8-bit grey PNG)
 *   frames/<sample>/img00NN.png   apex frame, NN = the apex number
 *   synthetic_truth.csv        id,subject,source,label,split,emotion,action_units
 * ```
 *
 * `synthetic-3db` (MEGC2019-composite-like layout, generic clip layout):
 *
 * ```
 * <root>/
 *   README.txt
 *   megc2019.csv
 *       header: dataset,sub,filename_o,label,onset_frame,apex_frame
 *       dataset  synthetic-smic | synthetic-casme2 | synthetic-samm
 *       sub      s01… (smic), sub01… (casme2), 006… (samm)
 *       filename_o  clip folder name, e.g. clip004
 *       label    negative | positive | surprise
 *   <dataset>/<sub>/<filename_o>/img0001.png and img00NN.png
 *   synthetic_truth.csv
 * ```
 *
 * `action_units` in synthetic_truth.csv lists the rendered units as
 * `AU<n>:<left>/<right>` intensities. Frames are `renderSize` pixels square.
 *
 * @module
 */

import { join } from "node:path";
import sharp from "sharp";
import type { SampleRecord } from "../types.ts";
import { renderSyntheticClip } from "./clip.ts";
import {
  planSyntheticDataset,
  resolveSyntheticOptions,
  type SyntheticFlavour,
  type SyntheticSamplePlan,
} from "./plan.ts";
import { makeRng } from "./rng.ts";

/** What {@link writeSyntheticCorpus} wrote. */
export interface SyntheticCorpus {
  /** the corpus folder. */
  root: string;
  /** which flavour was written. */
  flavour: SyntheticFlavour;
  /** the annotation files written (paths). */
  annotations: string[];
  /** one record per clip, with absolute-or-root-relative frame paths. */
  samples: SampleRecord[];
}

function csvCell(s: string | number): string {
  const t = String(s);
  return /[",\n\r]/.test(t) ? `"${t.replaceAll('"', '""')}"` : t;
}

function csvLine(cells: (string | number)[]): string {
  return cells.map(csvCell).join(",") + "\n";
}

function frameFile(n: number): string {
  return `img${String(n).padStart(4, "0")}.png`;
}

/** Encodes an 8-bit grey frame as PNG (deterministic settings). */
export async function encodeGreyPng(
  pixels: Uint8Array,
  size: number,
): Promise<Uint8Array> {
  const buf = await sharp(pixels, {
    raw: { width: size, height: size, channels: 1 },
  })
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
  return new Uint8Array(buf);
}

async function writeAtomic(
  path: string,
  data: Uint8Array | string,
): Promise<void> {
  const tmp = `${path}.${Deno.pid}.tmp`;
  if (typeof data === "string") await Deno.writeTextFile(tmp, data);
  else await Deno.writeFile(tmp, data);
  await Deno.rename(tmp, path);
}

function truthLine(sp: SyntheticSamplePlan): string {
  const aus = sp.activations
    .map((a) => `AU${a.au}:${a.left.toFixed(3)}/${a.right.toFixed(3)}`)
    .join(" ");
  const r = sp.record;
  return csvLine([
    r.id,
    r.subject,
    r.source,
    r.label,
    r.split ?? "",
    sp.emotion,
    aus,
  ]);
}

const README = (flavour: string, opts: unknown) =>
  `This folder was written by merba's writeSyntheticCorpus (${flavour}).\n` +
  `It is a procedurally rendered micro-expression TEST-BED, not real data:\n` +
  `grey faces with FACS-like action-unit warps between an onset and an apex\n` +
  `frame. Use it to exercise the pipeline, never to report results about\n` +
  `micro-expression recognition.\n\nOptions: ${JSON.stringify(opts)}\n`;

/**
 * Renders every clip of a synthetic flavour and writes the corpus under
 * `root` in the layout described in the module doc. Same options ⇒ the same
 * bytes. Existing files with the same names are replaced.
 *
 * @param root output folder (created if missing).
 * @param flavour `synthetic-dfme` or `synthetic-3db`.
 * @param options the generator options (see `loadSyntheticDataset`).
 * @param onProgress called after each clip with (done, total).
 */
export async function writeSyntheticCorpus(
  root: string,
  flavour: SyntheticFlavour,
  options: Record<string, unknown> = {},
  onProgress?: (done: number, total: number) => void,
): Promise<SyntheticCorpus> {
  const opts = resolveSyntheticOptions(flavour, options);
  const plan = planSyntheticDataset(flavour, opts);
  const size = opts.renderSize;
  await Deno.mkdir(root, { recursive: true });
  const records: SampleRecord[] = [];
  const tables = new Map<string, string>();
  const header = flavour === "synthetic-dfme"
    ? "sample,subject,onset,apex,label\n"
    : "dataset,sub,filename_o,label,onset_frame,apex_frame\n";
  let truth = "id,subject,source,label,split,emotion,action_units\n";
  let done = 0;
  for (const sp of plan.samples) {
    const clip = renderSyntheticClip(sp, size, opts.seed);
    const apexNo = 4 + makeRng(opts.seed, "apex-frame", sp.record.id).int(9);
    const dir = flavour === "synthetic-dfme"
      ? join(root, "frames", `${sp.subject.name}_${sp.clip}`)
      : join(root, sp.subject.source, sp.subject.name, sp.clip);
    await Deno.mkdir(dir, { recursive: true });
    const onset = join(dir, frameFile(1));
    const apex = join(dir, frameFile(apexNo));
    await writeAtomic(onset, await encodeGreyPng(clip.onset, size));
    await writeAtomic(apex, await encodeGreyPng(clip.apex, size));
    const table = flavour === "synthetic-dfme"
      ? `${sp.record.split}.csv`
      : "megc2019.csv";
    const line = flavour === "synthetic-dfme"
      ? csvLine([
        `${sp.subject.name}_${sp.clip}`,
        sp.subject.name,
        1,
        apexNo,
        sp.record.label,
      ])
      : csvLine([
        sp.subject.source,
        sp.subject.name,
        sp.clip,
        sp.record.label,
        1,
        apexNo,
      ]);
    tables.set(table, (tables.get(table) ?? header) + line);
    truth += truthLine(sp);
    records.push({ ...sp.record, frames: { onset, apex } });
    onProgress?.(++done, plan.samples.length);
  }
  const annotations: string[] = [];
  for (const [name, text] of [...tables].sort()) {
    const p = join(root, name);
    await writeAtomic(p, text);
    annotations.push(p);
  }
  await writeAtomic(join(root, "synthetic_truth.csv"), truth);
  await writeAtomic(join(root, "README.txt"), README(flavour, opts));
  return { root, flavour, annotations, samples: records };
}
