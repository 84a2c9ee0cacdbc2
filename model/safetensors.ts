/**
 * The safetensors format (8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets}, "__metadata__": {...}}` padded with
 * spaces to 8 bytes, then the raw little-endian data), and model weights I/O
 * in PyTorch layouts (conv OIHW, linear [out, in], conv1d [C, 1, K]) under
 * the PyTorch state-dict names.
 *
 * Supported dtypes: F32, F16, BF16 and F64 (the last three read only,
 * converted to float32), I64 and I32. Integer tensors are read into
 * Int32Array (values outside int32 are an error). Files are read header
 * first, then only the byte ranges of the tensors needed
 * ({@link SafetensorsReader}); loading weights checks every name, shape
 * and dtype against the model before reading any data.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  internalToTorch,
  mayBeMissing,
  type ParamSpec,
  type ParamStore,
  torchToInternal,
} from "./params.ts";
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

/** One tensor's entry in a safetensors header. */
export interface SafeTensorEntry {
  /** stored dtype as written in the file (`F32`, `F16`, `BF16`, `I64`, …). */
  dtype: string;
  /** tensor shape. */
  shape: number[];
  /** byte range [begin, end) in the data section. */
  dataOffsets: [number, number];
}

/** The parsed header of a safetensors file. */
export interface SafeTensorsHeader {
  /** tensor entries by name, in file order. */
  entries: Map<string, SafeTensorEntry>;
  /** the `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
  /** byte offset of the data section in the file (8 + header length). */
  dataStart: number;
}

/** Bytes per element of the dtypes this module reads. */
const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
};

/** Stored dtypes a float parameter accepts (converted to float32). */
export const FLOAT_DTYPES: readonly string[] = ["F32", "F16", "BF16", "F64"];
/** Stored dtypes an integer buffer accepts. */
export const INT_DTYPES: readonly string[] = ["I64", "I32"];

/** Largest header read (the format's own limit is 100 MB). */
const MAX_HEADER = 100_000_000;

function describe(value: unknown): string {
  return value === null
    ? "null"
    : Array.isArray(value)
    ? "a list"
    : typeof value;
}

const isCount = (x: unknown): x is number =>
  typeof x === "number" && Number.isSafeInteger(x) && x >= 0;

/**
 * Parses and checks the JSON header (`json`: its bytes) of a file whose
 * data section has `dataLen` bytes. Errors name `source`, the tensor and
 * the field.
 */
function parseHeader(
  json: Uint8Array,
  dataLen: number,
  source: string,
): SafeTensorsHeader {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(json));
  } catch (e) {
    throw new Error(
      `${source}: invalid safetensors header JSON (${(e as Error).message})`,
    );
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new Error(
      `${source}: the header is not a JSON object (got ${describe(header)})`,
    );
  }
  const entries = new Map<string, SafeTensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (
        entry === null || typeof entry !== "object" || Array.isArray(entry) ||
        Object.values(entry).some((x) => typeof x !== "string")
      ) {
        throw new Error(`${source}: __metadata__ must map names to strings`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as Record<string, unknown> | null;
    if (
      e === null || typeof e !== "object" || typeof e.dtype !== "string" ||
      !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)
    ) {
      throw new Error(`${source}: tensor ${name} has a malformed header entry`);
    }
    const shape = e.shape as unknown[];
    if (!shape.every(isCount)) {
      throw new Error(
        `${source}: tensor ${name}: shape ${
          JSON.stringify(shape)
        }: expected a list of non-negative integers`,
      );
    }
    const offsets = e.data_offsets as unknown[];
    if (offsets.length !== 2 || !offsets.every(isCount)) {
      throw new Error(
        `${source}: tensor ${name}: data_offsets ${
          JSON.stringify(offsets)
        }: expected two non-negative integers`,
      );
    }
    const [begin, end] = offsets as number[];
    if (!(end >= begin && end <= dataLen)) {
      throw new Error(
        `${source}: tensor ${name} has data_offsets [${begin}, ${end}] outside the ${dataLen}-byte data section`,
      );
    }
    const size = DTYPE_BYTES[e.dtype];
    const n = (shape as number[]).reduce((a, b) => a * b, 1);
    if (size !== undefined && end - begin !== n * size) {
      throw new Error(
        `${source}: tensor ${name} ${e.dtype} [${shape}] needs ${
          n * size
        } bytes, has ${end - begin}`,
      );
    }
    entries.set(name, {
      dtype: e.dtype,
      shape: shape as number[],
      dataOffsets: [begin, end],
    });
  }
  return { entries, metadata, dataStart: 8 + json.length };
}

/** The header length a file's first 8 bytes give, checked against its size. */
function headerLength(
  first8: Uint8Array,
  fileSize: number,
  source: string,
): number {
  if (fileSize < 8) {
    throw new Error(
      `${source}: not a safetensors file (only ${fileSize} bytes)`,
    );
  }
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const hlen = Number(view.getBigUint64(0, true));
  if (hlen > fileSize - 8 || hlen > MAX_HEADER) {
    throw new Error(
      `${source}: not a safetensors file (header length ${hlen} exceeds the file size ${fileSize})`,
    );
  }
  return hlen;
}

/**
 * Converts one tensor's stored bytes (`raw`, exactly its data range) into
 * a {@link SafeTensor}: float dtypes to float32, I32/I64 to int32.
 */
function decodeTensor(
  name: string,
  entry: SafeTensorEntry,
  raw: Uint8Array,
  source: string,
): SafeTensor {
  const n = entry.shape.reduce((a, b) => a * b, 1);
  const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let data: Float32Array | Int32Array;
  let dtype: SafeTensor["dtype"] = "F32";
  switch (entry.dtype) {
    case "F32":
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = rv.getFloat32(4 * i, true);
      break;
    case "F64":
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = rv.getFloat64(8 * i, true);
      break;
    case "F16":
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        data[i] = halfToFloat(rv.getUint16(2 * i, true));
      }
      break;
    case "BF16": {
      // bfloat16 is the upper half of a float32
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = rv.getUint16(2 * i, true) << 16;
      data = new Float32Array(bits.buffer);
      break;
    }
    case "I32":
      dtype = "I32";
      data = new Int32Array(n);
      for (let i = 0; i < n; i++) data[i] = rv.getInt32(4 * i, true);
      break;
    case "I64":
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
        `${source}: tensor ${name} has unsupported dtype ${entry.dtype}`,
      );
  }
  return { data, shape: entry.shape, dtype };
}

/**
 * Parses safetensors bytes; `source` names the file in errors. F16, BF16
 * and F64 tensors are converted to float32.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = "<bytes>",
): SafeTensorsFile {
  const hlen = headerLength(bytes.subarray(0, 8), bytes.length, source);
  const header = parseHeader(
    bytes.subarray(8, 8 + hlen),
    bytes.length - 8 -
      hlen,
    source,
  );
  const tensors = new Map<string, SafeTensor>();
  for (const [name, entry] of header.entries) {
    const [begin, end] = entry.dataOffsets;
    const at = header.dataStart;
    tensors.set(
      name,
      decodeTensor(name, entry, bytes.subarray(at + begin, at + end), source),
    );
  }
  return { tensors, metadata: header.metadata };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

async function readExactly(
  file: Deno.FsFile,
  position: number,
  length: number,
  source: string,
): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  await file.seek(position, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = await file.read(buf.subarray(got));
    if (n === null) {
      throw new Error(
        `${source}: file ended at byte ${position + got} (expected ${
          position + length
        })`,
      );
    }
    got += n;
  }
  return buf;
}

/**
 * A safetensors file opened for reading: its header is read and checked
 * at once; each tensor's bytes are read only when asked for, so a large
 * file never has to fit in memory whole. {@link close} when done.
 */
export class SafetensorsReader {
  /** the file's path (names it in errors). */
  readonly path: string;
  /** the checked header. */
  readonly header: SafeTensorsHeader;
  #file: Deno.FsFile;

  private constructor(
    path: string,
    file: Deno.FsFile,
    header: SafeTensorsHeader,
  ) {
    this.path = path;
    this.#file = file;
    this.header = header;
  }

  /** Opens `path` and reads its header; errors name the file. */
  static async open(path: string): Promise<SafetensorsReader> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (e) {
      throw new Error(`${path}: cannot read (${(e as Error).message})`);
    }
    try {
      const size = (await file.stat()).size;
      const first = size >= 8 ? await readExactly(file, 0, 8, path) : null;
      const hlen = headerLength(first ?? new Uint8Array(8), size, path);
      const json = await readExactly(file, 8, hlen, path);
      const header = parseHeader(json, size - 8 - hlen, path);
      return new SafetensorsReader(path, file, header);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** Reads and converts one tensor (see {@link decodeSafetensors}). */
  async read(name: string): Promise<SafeTensor> {
    const entry = this.header.entries.get(name);
    if (!entry) throw new Error(`${this.path}: no tensor named ${name}`);
    const [begin, end] = entry.dataOffsets;
    const raw = await readExactly(
      this.#file,
      this.header.dataStart + begin,
      end - begin,
      this.path,
    );
    return decodeTensor(name, entry, raw, this.path);
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}

/** Reads and parses a safetensors file (every tensor, in memory). */
export async function readSafetensors(path: string): Promise<SafeTensorsFile> {
  const reader = await SafetensorsReader.open(path);
  try {
    const tensors = new Map<string, SafeTensor>();
    for (const name of reader.header.entries.keys()) {
      tensors.set(name, await reader.read(name));
    }
    return { tensors, metadata: reader.header.metadata };
  } finally {
    reader.close();
  }
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

function listKeys(what: string, keys: string[]): string {
  return `${what} key${keys.length > 1 ? "s" : ""} ${
    keys.slice(0, 5).join(", ")
  }${keys.length > 5 ? ` (and ${keys.length - 5} more)` : ""}`;
}

/**
 * Checks tensors (name → stored dtype and shape) against a model's
 * declared parameters and buffers: every key present (a BatchNorm's
 * `num_batches_tracked` may be absent, as PyTorch allows), no extra key,
 * PyTorch shapes, and a float dtype for float parameters (F32, F16, BF16,
 * F64), an integer one for integer buffers (I64, I32). Errors name
 * `source`, the key and the dtype or shape.
 */
function checkAgainstModel(
  store: ParamStore,
  tensors: ReadonlyMap<string, { dtype: string; shape: number[] }>,
  source: string,
): void {
  const missing = store.specs.filter((s) =>
    !tensors.has(s.name) && !mayBeMissing(s)
  ).map((s) => s.name);
  if (missing.length > 0) {
    throw new Error(`${source}: ${listKeys("missing", missing)}`);
  }
  const extra = [...tensors.keys()].filter((k) => !store.spec(k));
  if (extra.length > 0) {
    throw new Error(`${source}: ${listKeys("unexpected", extra)}`);
  }
  for (const spec of store.specs) {
    const t = tensors.get(spec.name);
    if (!t) continue;
    if (
      t.shape.length !== spec.torchShape.length ||
      t.shape.some((d, i) => d !== spec.torchShape[i])
    ) {
      throw new Error(
        `${source}: shape mismatch for ${spec.name}: expected [${spec.torchShape}], got [${t.shape}]`,
      );
    }
    const int = spec.dtype === "int32";
    if (!(int ? INT_DTYPES : FLOAT_DTYPES).includes(t.dtype)) {
      throw new Error(
        `${source}: ${spec.name} has dtype ${t.dtype}; expected ${
          int
            ? "an integer tensor (I64 or I32)"
            : "a float tensor (F32, F16, BF16 or F64)"
        }`,
      );
    }
  }
}

/** Assigns one tensor (already checked) to the model's variable. */
function assignTensor(store: ParamStore, spec: ParamSpec, t: SafeTensor) {
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

/** Sets the absent optional buffers (`num_batches_tracked`) to 0, as PyTorch does. */
function zeroAbsent(store: ParamStore, present: (name: string) => boolean) {
  for (const spec of store.specs) {
    if (present(spec.name)) continue;
    const v = store.get(spec.name);
    tf.tidy(() => v.assign(tf.zeros(v.shape, v.dtype)));
  }
}

/**
 * Assigns a state dict to the model. Every key must be present with its
 * PyTorch shape and a matching dtype (see {@link loadSafetensors}), and no
 * extra key is allowed; errors name the key. A missing
 * `num_batches_tracked` is set to 0.
 */
export function loadStateDict(
  model: MerModel,
  tensors: Map<string, SafeTensor>,
  source = "state dict",
): void {
  const store: ParamStore = modelStore(model);
  checkAgainstModel(store, tensors, source);
  for (const spec of store.specs) {
    const t = tensors.get(spec.name);
    if (t) assignTensor(store, spec, t);
  }
  zeroAbsent(store, (name) => tensors.has(name));
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

/**
 * Loads a safetensors file into a model, strictly: names, shapes and dtypes
 * are checked against the model from the header alone, before any tensor
 * data is read; then the tensors are read one at a time (a file larger
 * than memory loads as long as the model fits). Float parameters accept
 * F32, F16, BF16 and F64 (converted to float32), integer buffers I64 and
 * I32; anything else is refused naming the key and dtype. A missing
 * `num_batches_tracked` is set to 0, as PyTorch's `load_state_dict` does.
 */
export async function loadSafetensors(
  model: MerModel,
  path: string,
): Promise<void> {
  const store: ParamStore = modelStore(model);
  const reader = await SafetensorsReader.open(path);
  try {
    const entries = reader.header.entries;
    checkAgainstModel(store, entries, path);
    for (const spec of store.specs) {
      if (entries.has(spec.name)) {
        assignTensor(store, spec, await reader.read(spec.name));
      }
    }
    zeroAbsent(store, (name) => entries.has(name));
  } finally {
    reader.close();
  }
}
