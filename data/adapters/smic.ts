/**
 * SMIC-HS adapter.
 *
 * Expected layout (as distributed by the SMIC authors; `<root>` may be the
 * SMIC folder holding `HS/` or the `HS/` folder itself):
 *
 * ```
 * <root>/HS/
 *   s1/micro/negative/s1_ne_01/image0106.bmp …
 *   s1/micro/positive/…   s1/micro/surprise/…
 *   s2/…                  (subjects without a `micro/` folder have no clips)
 * ```
 *
 * The clips are already cut to the micro-expression: onset = first frame,
 * offset = last frame. SMIC-HS has NO apex annotation: the apex is estimated
 * as the frame of maximal ([1,2,1]-smoothed) frame-difference energy from the
 * onset, on grey frames shrunk to ≤ 64 px (see `apex.ts`), a fast proxy for
 * the maximal mean TV-L1 flow magnitude. Class folders other than
 * `negative`, `positive`, `surprise` are an error. Records: id
 * `smic/s01/s1_ne_01`, subject `smic/s01` (number zero-padded to 2), label
 * = the class folder.
 *
 * @module
 */
import { join } from "node:path";
import {
  type AdapterOptions,
  type CorpusRecord,
  resolveClipFrames,
  sortById,
} from "./common.ts";
import { MEGC2019_CLASS_MAP } from "./labels.ts";

async function listDirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isDirectory) out.push(e.name);
  return out.sort();
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await Deno.stat(p)).isDirectory;
  } catch {
    return false;
  }
}

/** Reads SMIC-HS's folder tree into records (apex estimated). */
export async function loadSmic(
  root: string,
  options: AdapterOptions = {},
): Promise<CorpusRecord[]> {
  if (!await isDir(root)) throw new Error(`corpus root ${root} does not exist`);
  const hs = await isDir(join(root, "HS")) ? join(root, "HS") : root;
  const subjects = (await listDirs(hs)).filter((d) => /^s\d+$/i.test(d));
  if (subjects.length === 0) {
    throw new Error(`${hs}: no subject folders (s1, s2, …) found`);
  }
  const known = Object.keys(MEGC2019_CLASS_MAP.smic);
  const out: CorpusRecord[] = [];
  for (const s of subjects) {
    const micro = join(hs, s, "micro");
    if (!await isDir(micro)) continue;
    const subject = `smic/s${s.slice(1).padStart(2, "0")}`;
    for (const cls of await listDirs(micro)) {
      const label = cls.toLowerCase();
      if (!known.includes(label)) {
        throw new Error(
          `${join(micro, cls)}: unknown SMIC class folder "${cls}" (known: ${
            known.join(", ")
          })`,
        );
      }
      for (const clip of await listDirs(join(micro, cls))) {
        const dir = join(micro, cls, clip);
        const id = `${subject}/${clip}`;
        const { frames } = await resolveClipFrames(
          dir,
          undefined,
          undefined,
          undefined,
          `SMIC clip ${dir}`,
          options.apexMethod,
        );
        // offset = last frame of the clip
        options.onApexEstimated?.(id, frames.apex);
        out.push({
          id,
          subject,
          source: "smic",
          label,
          emotion: label,
          frames,
          apexEstimated: true,
          origin: dir,
        });
      }
    }
  }
  if (out.length === 0) throw new Error(`${hs}: no micro-expression clips`);
  return sortById(out);
}
