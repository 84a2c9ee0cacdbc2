/**
 * On-disk cache of synthetic flow tensors.
 *
 * One file per sample, `<cacheDir>/synthetic/<sha256>.flow`, keyed by the
 * SHA-256 of a JSON description of everything the tensor depends on. File
 * layout: the 4 ASCII bytes `MFLW`, then height, width, channels as uint32
 * little-endian, then `height·width·channels` float32 little-endian (HWC).
 * Writes go to a temporary file in the same folder which is then renamed, so
 * a reader never sees a partial file; a file whose header or length does not
 * match is treated as absent.
 *
 * @module
 */

import { dirname, join } from "node:path";

const MAGIC = [0x4d, 0x46, 0x4c, 0x57]; // "MFLW"
const HEADER = 16;

/** SHA-256 (hex) of the canonical JSON of `parts`. */
export async function cacheKey(parts: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(parts));
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/** Path of the cache file for `key` under `cacheDir`. */
export function cachePath(cacheDir: string, key: string): string {
  return join(cacheDir, "synthetic", `${key}.flow`);
}

/** Serialises an HWC float32 tensor (see the module doc for the layout). */
export function encodeFlow(
  data: Float32Array,
  height: number,
  width: number,
  channels: number,
): Uint8Array {
  if (data.length !== height * width * channels) {
    throw new Error(
      `encodeFlow: data length ${data.length} ≠ ${height}·${width}·${channels}`,
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

/** Parses a cache file; null when it is not a tensor of the expected shape. */
export function decodeFlow(
  buf: Uint8Array,
  height: number,
  width: number,
  channels: number,
): Float32Array | null {
  const n = height * width * channels;
  if (buf.length !== HEADER + 4 * n) return null;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < 4; i++) if (dv.getUint8(i) !== MAGIC[i]) return null;
  if (
    dv.getUint32(4, true) !== height || dv.getUint32(8, true) !== width ||
    dv.getUint32(12, true) !== channels
  ) return null;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(HEADER + 4 * i, true);
  return out;
}

/** Reads a cached tensor, or null when absent or invalid. */
export async function readCachedFlow(
  path: string,
  height: number,
  width: number,
  channels: number,
): Promise<Float32Array | null> {
  let buf: Uint8Array;
  try {
    buf = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`flow cache: cannot read ${path}: ${(e as Error).message}`);
  }
  return decodeFlow(buf, height, width, channels);
}

let tmpCounter = 0;

/** Writes a tensor atomically (temporary file in the same folder, then rename). */
export async function writeCachedFlow(
  path: string,
  data: Float32Array,
  height: number,
  width: number,
  channels: number,
): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${Deno.pid}.${tmpCounter++}.tmp`;
  try {
    await Deno.writeFile(tmp, encodeFlow(data, height, width, channels));
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(
      `flow cache: cannot write ${path}: ${(e as Error).message}`,
    );
  }
}
