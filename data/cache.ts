/**
 * On-disk cache of preprocessed flow tensors for the real-corpus pipeline.
 *
 * One file per sample: `<cacheDir>/<dataset>/<key>.flow`, where `key` is the
 * SHA-256 of a canonical JSON of everything the tensor depends on: the code
 * version ({@link PIPELINE_VERSION}), the sample id, the size and mtime of
 * each frame file, and the preprocessing parameters. Changing a frame file,
 * a parameter or the code version therefore misses the cache.
 *
 * File layout: ASCII `MFLW`, then height, width, channels as uint32 LE, then
 * `height·width·channels` float32 LE (HWC). Writes go to a unique temporary
 * file in the same folder, which is then renamed over the target (atomic on
 * POSIX), so readers never see partial files; a file with a wrong header or
 * length is treated as absent and rewritten.
 *
 * @module
 */
import { join } from "node:path";

/** Bumped whenever a code change alters the tensors the pipeline produces. */
export const PIPELINE_VERSION = "merba-pipeline-1";

const MAGIC = [0x4d, 0x46, 0x4c, 0x57]; // "MFLW"
const HEADER = 16;
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
    dv.setFloat32(HEADER + 4 * i, data[i], true);
  }
  return buf;
}

/** Parses a cache file; null when the header or length is wrong. */
export function decodeCachedFlow(buf: Uint8Array): CachedFlow | null {
  if (buf.length < HEADER) return null;
  for (let i = 0; i < 4; i++) if (buf[i] !== MAGIC[i]) return null;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const height = dv.getUint32(4, true), width = dv.getUint32(8, true);
  const channels = dv.getUint32(12, true);
  const n = height * width * channels;
  if (buf.length !== HEADER + 4 * n) return null;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = dv.getFloat32(HEADER + 4 * i, true);
  return { height, width, channels, data };
}

/** A folder of cached tensors (see the module doc). */
export class FlowCache {
  /** the folder holding the `.flow` files. */
  readonly dir: string;

  /** A cache under `<cacheDir>/<namespace>`. */
  constructor(cacheDir: string, namespace: string) {
    if (!/^[A-Za-z0-9._-]+$/.test(namespace)) {
      throw new Error(`cache namespace "${namespace}" must be a plain name`);
    }
    this.dir = join(cacheDir, namespace);
  }

  /** Path of the file for `key`. */
  path(key: string): string {
    return join(this.dir, `${key}.flow`);
  }

  /** The cached tensor, or null (absent or invalid). */
  async get(key: string): Promise<CachedFlow | null> {
    let buf: Uint8Array;
    try {
      buf = await Deno.readFile(this.path(key));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
    return decodeCachedFlow(buf);
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
