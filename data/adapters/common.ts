/**
 * Shared helpers of the corpus adapters: the adapter result type, clip frame
 * resolution (onset/apex/offset from annotation numbers, apex estimated when
 * absent), and finding annotation files.
 *
 * @module
 */
import { join } from "node:path";
import type { SampleRecord } from "../types.ts";
import { type ApexMethod, estimateApex } from "./apex.ts";
import { frameFile, type FrameIndex, indexFrames } from "./frames.ts";

/** Options shared by the corpus adapters. */
export interface AdapterOptions {
  /**
   * Called once per clip whose apex had to be estimated (SMIC-HS, or an
   * apex cell marked `/`/`-1`), with the record id and the chosen frame.
   */
  onApexEstimated?: (id: string, frame: string) => void;
  /** how unannotated apexes are estimated (default `difference`, see apex.ts). */
  apexMethod?: ApexMethod;
}

/** A record as an adapter yields it, with the raw source emotion kept. */
export interface CorpusRecord extends SampleRecord {
  /** the emotion as annotated by the source corpus (lower case). */
  emotion: string;
  /** true when the apex frame was estimated, not annotated. */
  apexEstimated: boolean;
  /** where the record came from (file and row), for messages. */
  origin: string;
}

/** One clip of a coding spreadsheet (CASME II, SAMM). */
export interface CodedClip {
  /** corpus name: prefixes ids and subjects, and is the record's source. */
  source: string;
  /** subject folder name. */
  subject: string;
  /** clip folder name. */
  clip: string;
  /** folder holding `<subject>/<clip>/` frame folders. */
  framesRoot: string;
  onset: number;
  /** undefined: estimated (see {@link resolveClipFrames}). */
  apex: number | undefined;
  offset: number | undefined;
  /** the annotated emotion (lower case). */
  emotion: string;
  /** file and row, for messages. */
  context: string;
}

/**
 * The record of a coded clip: resolves its frames (estimating the apex when
 * it is not annotated, and telling `options.onApexEstimated`).
 */
export async function codedClipRecord(
  c: CodedClip,
  options: AdapterOptions,
): Promise<CorpusRecord> {
  const id = `${c.source}/${c.subject}/${c.clip}`;
  const { frames, estimated } = await resolveClipFrames(
    join(c.framesRoot, c.subject, c.clip),
    c.onset,
    c.apex,
    c.offset,
    c.context,
    options.apexMethod,
  );
  if (estimated) options.onApexEstimated?.(id, frames.apex);
  return {
    id,
    subject: `${c.source}/${c.subject}`,
    source: c.source,
    label: c.emotion,
    emotion: c.emotion,
    frames,
    apexEstimated: estimated,
    origin: c.context,
  };
}

/**
 * Resolves onset/apex/offset files of a clip folder. `apex` undefined →
 * estimated over the frames from onset to offset (or the folder's last frame).
 */
export async function resolveClipFrames(
  dir: string,
  onset: number | undefined,
  apex: number | undefined,
  offset: number | undefined,
  context: string,
  apexMethod?: ApexMethod,
): Promise<
  {
    frames: { onset: string; apex: string; offset?: string };
    estimated: boolean;
  }
> {
  const index: FrameIndex = await indexFrames(dir, context);
  const on = onset ?? index.numbers[0];
  const onsetFile = frameFile(index, on, context);
  const offsetFile = offset !== undefined
    ? frameFile(index, offset, context)
    : undefined;
  if (apex !== undefined) {
    if (apex < on) {
      throw new Error(`${context}: apex frame ${apex} precedes onset ${on}`);
    }
    if (offset !== undefined && apex > offset) {
      throw new Error(
        `${context}: apex frame ${apex} follows offset ${offset}`,
      );
    }
    return {
      frames: {
        onset: onsetFile,
        apex: frameFile(index, apex, context),
        ...(offsetFile ? { offset: offsetFile } : {}),
      },
      estimated: false,
    };
  }
  const last = offset ?? index.numbers[index.numbers.length - 1];
  const span = index.numbers.filter((n) => n >= on && n <= last);
  if (span.length < 2) {
    throw new Error(
      `${context}: cannot estimate the apex: fewer than 2 frames between ${on} and ${last} in ${dir}`,
    );
  }
  const est = await estimateApex(span.map((n) => index.byNumber.get(n)!), {
    method: apexMethod,
  });
  return {
    frames: {
      onset: onsetFile,
      apex: index.byNumber.get(span[est.index])!,
      ...(offsetFile ? { offset: offsetFile } : {}),
    },
    estimated: true,
  };
}

/**
 * Finds exactly one file in `dir` whose name matches `pattern`; errors list
 * what was expected and what was found.
 */
export async function findAnnotationFile(
  dir: string,
  pattern: RegExp,
  what: string,
): Promise<string> {
  const found: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && pattern.test(e.name)) found.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`corpus root ${dir} does not exist`);
    }
    throw e;
  }
  if (found.length === 0) {
    throw new Error(`${dir}: no ${what} (a file matching ${pattern})`);
  }
  if (found.length > 1) {
    throw new Error(
      `${dir}: several ${what} files (${found.sort().join(", ")}); keep one`,
    );
  }
  return join(dir, found[0]);
}

/** Zero-pads the integer in `s` to `width` digits (`"1"` → `"01"`). */
export function padNumber(s: string, width: number, context: string): string {
  const t = s.trim().replace(/\.0+$/, "");
  if (!/^\d+$/.test(t)) {
    throw new Error(`${context}: "${s}" is not a subject number`);
  }
  return t.padStart(width, "0");
}

/** Sorts records by id (adapters return a deterministic order). */
export function sortById<T extends { id: string }>(records: T[]): T[] {
  return records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
