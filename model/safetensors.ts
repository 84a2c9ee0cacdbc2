/**
 * The safetensors format (8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets}, "__metadata__": {...}}` padded with
 * spaces to 8 bytes, then the raw little-endian data), and model weights I/O
 * in PyTorch layouts (conv OIHW, linear [out, in], conv1d [C, 1, K]) under
 * the PyTorch state-dict names.
 *
 * Supported dtypes: F32, F16 (read only), F64 (read only), I64 and I32.
 * Integer tensors are read into Int32Array (values outside int32 are an error).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { internalToTorch, type ParamStore, torchToInternal } from "./params.ts";
import { modelStore } from "./model.ts";
import type { MerModel } from "./types.ts";

/** One tensor of a safetensors file. */
export interface SafeTensor {
  /** F32 data as Float32Array, integer data as Int32Array. */
  data: Float32Array | Int32Array;
  /** tensor shape. */
  shape: number[];
  /** stored dtype (`F32` or `I64`/`I32`). */
  dtype: "F32" | "I64" | "I32";
}

/** Contents of a safetensors file. */
export interface SafeTensorsFile {
  /** tensors by name. */
  tensors: Map<string, SafeTensor>;
  /** the `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
}

/** Serialises tensors (sorted by name) and metadata into safetensors bytes. */
export function encodeSafetensors(
  tensors: Map<string, SafeTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const names = [...tensors.keys()].sort();
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new Error(
        `safetensors: ${name} has shape [${t.shape}] (${n} values) but ${t.data.length} values`,
      );
    }
    let bytes: Uint8Array;
    if (t.dtype === "F32") {
      const f = new Float32Array(t.data);
      bytes = new Uint8Array(f.buffer);
    } else if (t.dtype === "I32") {
      bytes = new Uint8Array(new Int32Array(t.data).buffer);
    } else {
      const b = new BigInt64Array(n);
      for (let i = 0; i < n; i++) b[i] = BigInt(t.data[i]);
      bytes = new Uint8Array(b.buffer);
    }
    header[name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + bytes.length],
    };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const hbytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hbytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let at = 8 + hbytes.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Parses safetensors bytes; `source` names the file in errors. */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = "<bytes>",
): SafeTensorsFile {
  if (bytes.length < 8) {
    throw new Error(
      `${source}: not a safetensors file (only ${bytes.length} bytes)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = Number(view.getBigUint64(0, true));
  if (hlen > bytes.length - 8) {
    throw new Error(
      `${source}: not a safetensors file (header length ${hlen} exceeds the file size ${bytes.length})`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen)));
  } catch (e) {
    throw new Error(
      `${source}: invalid safetensors header JSON (${(e as Error).message})`,
    );
  }
  const base = 8 + hlen;
  const dataLen = bytes.length - base;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as {
      dtype: string;
      shape: number[];
      data_offsets: [number, number];
    };
    if (!e || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
      throw new Error(`${source}: tensor ${name} has a malformed header entry`);
    }
    const [begin, end] = e.data_offsets;
    if (!(begin >= 0 && end >= begin && end <= dataLen)) {
      throw new Error(
        `${source}: tensor ${name} has data_offsets [${begin}, ${end}] outside the ${dataLen}-byte data section`,
      );
    }
    const n = e.shape.reduce((a, b) => a * b, 1);
    const raw = bytes.slice(base + begin, base + end); // copy: aligned
    const rv = new DataView(raw.buffer);
    const expectBytes = (size: number) => {
      if (raw.length !== n * size) {
        throw new Error(
          `${source}: tensor ${name} ${e.dtype} [${e.shape}] needs ${
            n * size
          } bytes, has ${raw.length}`,
        );
      }
    };
    let data: Float32Array | Int32Array;
    let dtype: SafeTensor["dtype"] = "F32";
    switch (e.dtype) {
      case "F32":
        expectBytes(4);
        data = new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = rv.getFloat32(4 * i, true);
        break;
      case "F64":
        expectBytes(8);
        data = new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = rv.getFloat64(8 * i, true);
        break;
      case "F16":
        expectBytes(2);
        data = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          data[i] = halfToFloat(rv.getUint16(2 * i, true));
        }
        break;
      case "I32":
        expectBytes(4);
        dtype = "I32";
        data = new Int32Array(n);
        for (let i = 0; i < n; i++) data[i] = rv.getInt32(4 * i, true);
        break;
      case "I64":
        expectBytes(8);
        dtype = "I64";
        data = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          const v = rv.getBigInt64(8 * i, true);
          if (v > 2147483647n || v < -2147483648n) {
            throw new Error(
              `${source}: tensor ${name} value ${v} does not fit int32`,
            );
          }
          data[i] = Number(v);
        }
        break;
      default:
        throw new Error(
          `${source}: tensor ${name} has unsupported dtype ${e.dtype}`,
        );
    }
    tensors.set(name, { data, shape: e.shape, dtype });
  }
  return { tensors, metadata };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Reads and parses a safetensors file. */
export async function readSafetensors(path: string): Promise<SafeTensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  return decodeSafetensors(bytes, path);
}

/** Writes tensors and metadata to a safetensors file. */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, SafeTensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await Deno.writeFile(path, encodeSafetensors(tensors, metadata));
}

/**
 * A model's state dict (parameters and buffers) in PyTorch layouts. Reads
 * with `data()`, so it works on every backend (webgpu has no `dataSync`).
 */
export async function stateDict(
  model: MerModel,
): Promise<Map<string, SafeTensor>> {
  const store = modelStore(model);
  const out = new Map<string, SafeTensor>();
  for (const spec of store.specs) {
    const v = store.get(spec.name);
    if (spec.dtype === "int32") {
      out.set(spec.name, {
        data: Int32Array.from(await v.data() as Int32Array),
        shape: spec.torchShape,
        dtype: "I64",
      });
    } else {
      out.set(spec.name, {
        data: internalToTorch(
          spec,
          Float32Array.from(await v.data() as Float32Array),
        ),
        shape: spec.torchShape,
        dtype: "F32",
      });
    }
  }
  return out;
}

/**
 * Assigns a state dict to the model. Every key must be present with its
 * PyTorch shape, and no extra key is allowed; errors name the key.
 */
export function loadStateDict(
  model: MerModel,
  tensors: Map<string, SafeTensor>,
  source = "state dict",
): void {
  const store: ParamStore = modelStore(model);
  const missing = store.specs.filter((s) => !tensors.has(s.name)).map((s) =>
    s.name
  );
  if (missing.length > 0) {
    throw new Error(
      `${source}: missing key${missing.length > 1 ? "s" : ""} ${
        missing.slice(0, 5).join(", ")
      }${missing.length > 5 ? ` (and ${missing.length - 5} more)` : ""}`,
    );
  }
  const extra = [...tensors.keys()].filter((k) => !store.spec(k));
  if (extra.length > 0) {
    throw new Error(
      `${source}: unexpected key${extra.length > 1 ? "s" : ""} ${
        extra.slice(0, 5).join(", ")
      }${extra.length > 5 ? ` (and ${extra.length - 5} more)` : ""}`,
    );
  }
  for (const spec of store.specs) {
    const t = tensors.get(spec.name)!;
    if (
      t.shape.length !== spec.torchShape.length ||
      t.shape.some((d, i) => d !== spec.torchShape[i])
    ) {
      throw new Error(
        `${source}: shape mismatch for ${spec.name}: expected [${spec.torchShape}], got [${t.shape}]`,
      );
    }
  }
  for (const spec of store.specs) {
    const t = tensors.get(spec.name)!;
    const v = store.get(spec.name);
    tf.tidy(() => {
      if (spec.dtype === "int32") {
        v.assign(tf.tensor(Int32Array.from(t.data), v.shape, "int32"));
      } else {
        v.assign(
          tf.tensor(
            torchToInternal(spec, Float32Array.from(t.data)),
            v.shape,
            "float32",
          ),
        );
      }
    });
  }
}

/** Saves a model's parameters and buffers as safetensors (PyTorch layouts). */
export async function saveSafetensors(
  model: MerModel,
  path: string,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeSafetensors(path, await stateDict(model), {
    config: JSON.stringify(model.config),
    ...metadata,
  });
}

/** Loads a safetensors file into a model (strict: names and shapes must match). */
export async function loadSafetensors(
  model: MerModel,
  path: string,
): Promise<void> {
  const file = await readSafetensors(path);
  loadStateDict(model, file.tensors, path);
}
