/**
 * On-disk cache of preprocessed flow tensors for the real-corpus pipeline.
 *
 * One file per sample: `<cacheDir>/<dataset>/<key>.flow`, where `key` is the
 * SHA-256 of a canonical JSON of everything the tensor depends on: the code
 * version ({@link PIPELINE_VERSION}), the sample id, the size and mtime of
 * each frame file, and the preprocessing parameters. Changing a frame file,
 * a parameter or the code version therefore misses the cache.
 *
 * File layout: ASCII `MFL2`, then height, width, channels as uint32 LE, the
 * SHA-256 of the data section (32 bytes), then `height·width·channels`
 * float32 LE (HWC). Writes go to a unique temporary file in the same folder,
 * which is then renamed over the target (atomic on POSIX), so readers never
 * see partial files. A file with a wrong header, length or checksum, or a
 * non-finite value, is treated as absent and recomputed, with a one-line
 * notice naming it; files of the older checksum-less format (`MFLW`) are
 * recomputed too (one notice per cache folder).
 *
 * @module
 */
import { join } from "node:path";
import { createHash } from "node:crypto";

/** Bumped whenever a code change alters the tensors the pipeline produces. */
export const PIPELINE_VERSION = "merba-pipeline-1";

const MAGIC = [0x4d, 0x46, 0x4c, 0x32]; // "MFL2"
const OLD_MAGIC = [0x4d, 0x46, 0x4c, 0x57]; // "MFLW": no checksum
const SUM = 16; // offset of the SHA-256 of the data section
const HEADER = SUM + 32;
let tmpSeq = 0;

/** A cached tensor. */
export interface CachedFlow {
  /** rows. */
  height: number;
  /** columns. */
  width: number;
  /** channels (HWC). */
  channels: number;
  /** HWC float32 values. */
  data: Float32Array;
}

/** Stable JSON: object keys sorted recursively (so key order never matters). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (
      v && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v)
    ) {
      return Object.fromEntries(
        Object.keys(v).sort().map((
          k,
        ) => [k, (v as Record<string, unknown>)[k]]),
      );
    }
    return v;
  });
}

/** SHA-256 (hex) of the canonical JSON of `parts`. */
export async function hashKey(parts: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(parts));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Size and modification time of a file; errors name the file. */
export async function fileStamp(
  path: string,
): Promise<{ path: string; size: number; mtime: number }> {
  try {
    const st = await Deno.stat(path);
    return { path, size: st.size, mtime: st.mtime?.getTime() ?? 0 };
  } catch (e) {
    throw new Error(
      `cannot stat ${path}: ${e instanceof Error ? e.message : e}`,
    );
  }
}

/**
 * Cache key of one sample: version, id, frame stamps (size + mtime) and
 * the preprocessing parameters.
 */
export async function sampleCacheKey(
  id: string,
  framePaths: readonly string[],
  params: unknown,
): Promise<string> {
  const stamps = [];
  for (const p of framePaths) stamps.push(await fileStamp(p));
  return await hashKey({
    version: PIPELINE_VERSION,
    id,
    frames: stamps,
    params,
  });
}

/** Serialises a tensor (layout in the module doc). */
export function encodeCachedFlow(t: CachedFlow): Uint8Array {
  const { height, width, channels, data } = t;
  if (data.length !== height * width * channels) {
    throw new Error(
      `encodeCachedFlow: data length ${data.length} ≠ ${height}·${width}·${channels}`,
    );
  }
  const buf = new Uint8Array(HEADER + data.length * 4);
  const dv = new DataView(buf.buffer);
  MAGIC.forEach((b, i) => dv.setUint8(i, b));
  dv.setUint32(4, height, true);
  dv.setUint32(8, width, true);
  dv.setUint32(12, channels, true);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new Error(
        `encodeCachedFlow: non-finite value ${data[i]} at index ${i}`,
      );
    }
    dv.setFloat32(HEADER + 4 * i, data[i], true);
  }
  buf.set(sha256(buf.subarray(HEADER)), SUM);
  return buf;
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

/** What {@link inspectCachedFlow} found in a cache file. */
export type CacheFileCheck =
  | {
    /** the file is valid. */
    ok: true;
    /** its tensor. */
    flow: CachedFlow;
  }
  | {
    /** the file cannot be used. */
    ok: false;
    /** what is wrong with it (one phrase). */
    problem: string;
    /** it is a file of the older, checksum-less format. */
    oldFormat: boolean;
  };

/**
 * Checks and parses a cache file: magic, length, the data section's
 * SHA-256 and finite values.
 */
export function inspectCachedFlow(buf: Uint8Array): CacheFileCheck {
  const bad = (problem: string, oldFormat = false): CacheFileCheck => ({
    ok: false,
    problem,
    oldFormat,
  });
  const hasMagic = (m: number[]) =>
    buf.length >= 4 && m.every((b, i) => buf[i] === b);
  if (hasMagic(OLD_MAGIC)) {
    return bad("older cache format without a checksum", true);
  }
  if (!hasMagic(MAGIC)) return bad("not a flow cache file");
  if (buf.length < HEADER) return bad(`truncated (${buf.length} bytes)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const height = dv.getUint32(4, true), width = dv.getUint32(8, true);
  const channels = dv.getUint32(12, true);
  const n = height * width * channels;
  if (buf.length !== HEADER + 4 * n) {
    return bad(
      `${buf.length} bytes where a ${height}×${width}×${channels} tensor needs ${
        HEADER + 4 * n
      }`,
    );
  }
  const sum = sha256(buf.subarray(HEADER));
  if (sum.some((b, i) => b !== buf[SUM + i])) {
    return bad("content does not match its checksum");
  }
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    data[i] = dv.getFloat32(HEADER + 4 * i, true);
    if (!Number.isFinite(data[i])) {
      return bad(`non-finite value ${data[i]} at index ${i}`);
    }
  }
  return { ok: true, flow: { height, width, channels, data } };
}

/**
 * Parses a cache file; null when the header, length or checksum is wrong
 * or a value is not finite (see {@link inspectCachedFlow} for why).
 */
export function decodeCachedFlow(buf: Uint8Array): CachedFlow | null {
  const r = inspectCachedFlow(buf);
  return r.ok ? r.flow : null;
}

/** Options of a {@link FlowCache}. */
export interface FlowCacheOptions {
  /**
   * receives the one-line notices about unusable cache files (default:
   * printed on stderr).
   */
  onNotice?: (message: string) => void;
}

/** A folder of cached tensors (see the module doc). */
export class FlowCache {
  /** the folder holding the `.flow` files. */
  readonly dir: string;
  #notice: (message: string) => void;
  #oldFormatSeen = false;

  /** A cache under `<cacheDir>/<namespace>`. */
  constructor(
    cacheDir: string,
    namespace: string,
    options: FlowCacheOptions = {},
  ) {
    if (!/^[A-Za-z0-9._-]+$/.test(namespace)) {
      throw new Error(`cache namespace "${namespace}" must be a plain name`);
    }
    this.dir = join(cacheDir, namespace);
    this.#notice = options.onNotice ?? ((m) => console.error(m));
  }

  /** Path of the file for `key`. */
  path(key: string): string {
    return join(this.dir, `${key}.flow`);
  }

  /**
   * The cached tensor, or null: absent, or unusable (then a notice names
   * the file and the caller recomputes and {@link put}s it).
   */
  async get(key: string): Promise<CachedFlow | null> {
    const file = this.path(key);
    let buf: Uint8Array;
    try {
      buf = await Deno.readFile(file);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
    const r = inspectCachedFlow(buf);
    if (r.ok) return r.flow;
    if (!r.oldFormat) {
      this.#notice(`flow cache: ${file}: ${r.problem}; recomputing it`);
    } else if (!this.#oldFormatSeen) {
      this.#oldFormatSeen = true;
      this.#notice(
        `flow cache: ${this.dir} holds files of an older format (no checksum); recomputing them`,
      );
    }
    return null;
  }

  /** Writes atomically (temp file + rename). */
  async put(key: string, t: CachedFlow): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    const target = this.path(key);
    const tmp = `${target}.${Deno.pid}.${++tmpSeq}.tmp`;
    try {
      await Deno.writeFile(tmp, encodeCachedFlow(t));
      await Deno.rename(tmp, target);
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw new Error(
        `cannot write cache file ${target}: ${
          e instanceof Error ? e.message : e
        }`,
      );
    }
  }
}
