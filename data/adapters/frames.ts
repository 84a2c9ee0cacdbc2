/**
 * Locating frame files inside a clip folder: frames are indexed by the last
 * integer in their file name (`img46.jpg` → 46, `006_05562.jpg` → 5562,
 * `image0106.bmp` → 106), so zero padding and prefixes do not matter.
 *
 * @module
 */
import { basename, extname, join } from "node:path";
import { IMAGE_EXTENSIONS } from "../image/image.ts";

/** The image files of one clip folder, by frame number. */
export interface FrameIndex {
  /** the folder. */
  dir: string;
  /** frame number → absolute file path. */
  byNumber: Map<number, string>;
  /** frame numbers in increasing order. */
  numbers: number[];
}

/** The last run of digits in a file's base name (without extension), or -1. */
export function frameNumber(file: string): number {
  const stem = basename(file, extname(file));
  const m = stem.match(/(\d+)(?!.*\d)/);
  return m ? Number(m[1]) : -1;
}

/**
 * Lists the image files of `dir` by frame number. Errors (naming the folder
 * and `context`, e.g. the annotation row) when the folder is missing, holds
 * no images, or two files carry the same number.
 */
export async function indexFrames(
  dir: string,
  context: string,
): Promise<FrameIndex> {
  const byNumber = new Map<number, string>();
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile) continue;
      const ext = extname(e.name).toLowerCase();
      if (!IMAGE_EXTENSIONS.includes(ext)) continue;
      const n = frameNumber(e.name);
      if (n < 0) continue;
      const prev = byNumber.get(n);
      if (prev !== undefined) {
        throw new Error(
          `${context}: frames ${
            basename(prev)
          } and ${e.name} in ${dir} both have number ${n}`,
        );
      }
      byNumber.set(n, join(dir, e.name));
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${context}: frame folder ${dir} does not exist`);
    }
    throw e;
  }
  if (byNumber.size === 0) {
    throw new Error(`${context}: frame folder ${dir} holds no numbered images`);
  }
  const numbers = [...byNumber.keys()].sort((a, b) => a - b);
  return { dir, byNumber, numbers };
}

/** The file of frame `n`; errors name the folder, the number and `context`. */
export function frameFile(
  index: FrameIndex,
  n: number,
  context: string,
): string {
  const f = index.byNumber.get(n);
  if (f === undefined) {
    throw new Error(
      `${context}: frame ${n} not found in ${index.dir} (frames ${
        index.numbers[0]
      }..${index.numbers[index.numbers.length - 1]})`,
    );
  }
  return f;
}

/**
 * Parses an annotation cell holding a frame number. Returns `undefined` for
 * the "not annotated" markers used by the corpora (`/`, `-`, `-1`, empty,
 * `n/a`); errors on anything else that is not a non-negative integer.
 */
export function parseFrameCell(
  text: string,
  context: string,
): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === "" || t === "/" || t === "-" || t === "-1" || t === "n/a") {
    return undefined;
  }
  if (!/^\d+(\.0+)?$/.test(t)) {
    throw new Error(`${context}: "${text}" is not a frame number`);
  }
  return Number.parseInt(t, 10);
}
