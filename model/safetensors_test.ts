import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { registerKernels } from "./backend/register.ts";
import { merbaBase } from "./config.ts";
import { buildModel } from "./model.ts";
import type { MerModel } from "./types.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  loadStateDict,
  readSafetensors,
  type SafeTensor,
  saveSafetensors,
  stateDict,
  writeSafetensors,
} from "./safetensors.ts";

await tf.setBackend("cpu");
registerKernels();

const SMALL = merbaBase({
  inputSize: 112,
  dims: [16, 32, 64, 128],
  heads: [1, 2, 2, 4],
  stemDim: 8,
  depths: [1, 1, 1, 1],
  windowSize: [7, 7, 7, 4],
});

/** Every parameter and buffer of `b` equals `a`'s, bit for bit. */
function assertSameWeights(a: MerModel, b: MerModel): void {
  for (const [k, v] of [...a.params, ...a.buffers]) {
    assert.deepEqual(
      (b.params.get(k) ?? b.buffers.get(k))!.dataSync(),
      v.dataSync(),
      k,
    );
  }
}

Deno.test("encode/decode: F32 and I64 round-trip, 8-byte aligned header, sorted keys, metadata", () => {
  const t = new Map<string, SafeTensor>([
    ["b", {
      data: Float32Array.from([1.5, -2, 3.25]),
      shape: [3],
      dtype: "F32",
    }],
    ["a", { data: Int32Array.from([7]), shape: [], dtype: "I64" }],
  ]);
  const bytes = encodeSafetensors(t, { note: "x" });
  const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(hlen % 8, 0);
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(8, 8 + hlen)),
  );
  assert.deepEqual(header.a, { dtype: "I64", shape: [], data_offsets: [0, 8] });
  assert.deepEqual(header.b, {
    dtype: "F32",
    shape: [3],
    data_offsets: [8, 20],
  });
  const back = decodeSafetensors(bytes);
  assert.deepEqual(back.metadata, { note: "x" });
  assert.deepEqual(
    back.tensors.get("b")!.data,
    Float32Array.from([1.5, -2, 3.25]),
  );
  assert.deepEqual(back.tensors.get("a")!.data, Int32Array.from([7]));
});

Deno.test("decode rejects truncated files, bad offsets and unknown dtypes naming the file and tensor", () => {
  assert.throws(
    () => decodeSafetensors(new Uint8Array(4), "x.st"),
    /x.st: not a safetensors file/,
  );
  const ok = encodeSafetensors(
    new Map([["w", {
      data: new Float32Array(4),
      shape: [4],
      dtype: "F32" as const,
    }]]),
  );
  assert.throws(
    () => decodeSafetensors(ok.slice(0, ok.length - 4), "y.st"),
    /y.st: tensor w has data_offsets \[0, 16\] outside/,
  );
  const bad = new TextEncoder().encode(
    JSON.stringify({
      w: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] },
    }),
  );
  const buf = new Uint8Array(8 + bad.length + 2);
  new DataView(buf.buffer).setBigUint64(0, BigInt(bad.length), true);
  buf.set(bad, 8);
  assert.throws(
    () => decodeSafetensors(buf, "z.st"),
    /z.st: tensor w has unsupported dtype F8_E4M3/,
  );
});

Deno.test("save → load restores every parameter and buffer bit-identically (PyTorch layouts on disk)", async () => {
  const dir = await Deno.makeTempDir();
  const a = buildModel(SMALL, 1), b = buildModel(SMALL, 2);
  a.buffers.get("norm.num_batches_tracked")!.assign(tf.scalar(5, "int32"));
  await saveSafetensors(a, `${dir}/a.safetensors`, { run: "test" });
  const file = await readSafetensors(`${dir}/a.safetensors`);
  assert.equal(file.metadata.run, "test");
  assert.deepEqual(JSON.parse(file.metadata.config), SMALL);
  assert.deepEqual(file.tensors.get("patch_embed.conv_down.0.weight")!.shape, [
    8,
    2,
    3,
    3,
  ]);
  assert.deepEqual(
    file.tensors.get("levels.1.blocks.0.mixers.0.conv1d_x.weight")!.shape,
    [16, 1, 3],
  );
  assert.deepEqual(
    file.tensors.get("levels.1.blocks.0.mixers.0.in_proj.weight")!.shape,
    [32, 32],
  );
  assert.deepEqual(
    file.tensors.get("levels.1.blocks.0.mlp.fc1.weight")!.shape,
    [128, 32],
  );
  assert.equal(file.tensors.get("norm.num_batches_tracked")!.dtype, "I64");
  await loadSafetensors(b, `${dir}/a.safetensors`);
  assertSameWeights(a, b);
  a.dispose();
  b.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadStateDict: missing key, unexpected key and shape mismatch are named", async () => {
  const m = buildModel(SMALL, 1);
  const sd = await stateDict(m);
  const missing = new Map(sd);
  missing.delete("levels.2.blocks.0.mixers.1.A_log");
  assert.throws(
    () => loadStateDict(m, missing, "w.st"),
    /w.st: missing key levels.2.blocks.0.mixers.1.A_log/,
  );
  const extra = new Map(sd);
  extra.set("head.weight", {
    data: new Float32Array(1),
    shape: [1],
    dtype: "F32",
  });
  assert.throws(
    () => loadStateDict(m, extra, "w.st"),
    /w.st: unexpected key head.weight/,
  );
  const wrong = new Map(sd);
  wrong.set("norm.weight", {
    data: new Float32Array(64),
    shape: [64],
    dtype: "F32",
  });
  assert.throws(
    () => loadStateDict(m, wrong, "w.st"),
    /w.st: shape mismatch for norm.weight: expected \[128\], got \[64\]/,
  );
  m.dispose();
});

Deno.test("loadStateDict accepts a state dict without num_batches_tracked (set to 0, as PyTorch does) but still refuses a missing parameter", async () => {
  const a = buildModel(SMALL, 1), b = buildModel(SMALL, 2);
  a.buffers.get("norm.num_batches_tracked")!.assign(tf.scalar(5, "int32"));
  b.buffers.get("norm.num_batches_tracked")!.assign(tf.scalar(9, "int32"));
  const sd = await stateDict(a);
  const dropped = [...sd.keys()].filter((k) =>
    k.endsWith(".num_batches_tracked")
  );
  assert.ok(dropped.length > 1);
  for (const k of dropped) sd.delete(k);
  loadStateDict(b, sd, "exported.st");
  for (const [k, v] of [...a.params, ...a.buffers]) {
    const got = (b.params.get(k) ?? b.buffers.get(k))!.dataSync();
    if (k.endsWith(".num_batches_tracked")) {
      assert.deepEqual([...got], [0], k);
    } else {
      assert.deepEqual(got, v.dataSync(), k);
    }
  }
  sd.delete("norm.running_mean");
  assert.throws(
    () => loadStateDict(b, sd, "exported.st"),
    /exported.st: missing key norm.running_mean$/,
  );
  a.dispose();
  b.dispose();
});

const TD = new URL("./testdata/", import.meta.url).pathname;

/** Safetensors bytes of a raw header object and data section. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0)) {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** The header object and data section of safetensors bytes. */
function splitFile(bytes: Uint8Array) {
  const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(8, 8 + hlen)),
  );
  return { header, data: bytes.subarray(8 + hlen) };
}

Deno.test("F16, BF16 and F64 tensors read as the float32 values numpy converts them to (fixture written by the safetensors package)", async () => {
  const expected = JSON.parse(
    await Deno.readTextFile(`${TD}dtypes.expected.json`),
  ) as Record<string, { shape: number[]; f32_bits: number[] }>;
  const file = await readSafetensors(`${TD}dtypes.safetensors`);
  for (const name of ["f16", "bf16", "f64"]) {
    const t = file.tensors.get(name)!;
    assert.equal(t.dtype, "F32", name);
    assert.deepEqual(t.shape, expected[name].shape, name);
    const bits = new Uint32Array(Float32Array.from(t.data).buffer);
    assert.deepEqual([...bits], expected[name].f32_bits, name);
  }
});

Deno.test("loadSafetensors refuses a float parameter stored as I32 (no bit reinterpretation) and an integer buffer stored as a float, naming key and dtype", async () => {
  const dir = await Deno.makeTempDir();
  const m = buildModel(SMALL, 1);
  const sd = await stateDict(m);
  const w = sd.get("norm.weight")!;
  // the float32 bits of norm.weight declared as I32
  const asI32 = new Map(sd);
  asI32.set("norm.weight", {
    data: new Int32Array(Float32Array.from(w.data).buffer),
    shape: w.shape,
    dtype: "I32",
  });
  await writeSafetensors(`${dir}/i32.st`, asI32);
  await assert.rejects(
    () => loadSafetensors(m, `${dir}/i32.st`),
    /i32\.st: norm\.weight has dtype I32; expected a float tensor \(F32, F16, BF16 or F64\)/,
  );
  assert.throws(
    () => loadStateDict(m, asI32, "sd"),
    /sd: norm\.weight has dtype I32; expected a float tensor/,
  );
  const asF32 = new Map(sd);
  asF32.set("norm.num_batches_tracked", {
    data: Float32Array.from([3]),
    shape: [],
    dtype: "F32",
  });
  assert.throws(
    () => loadStateDict(m, asF32, "sd"),
    /sd: norm\.num_batches_tracked has dtype F32; expected an integer tensor \(I64 or I32\)/,
  );
  m.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadSafetensors converts F64 weights to float32", async () => {
  const dir = await Deno.makeTempDir();
  const a = buildModel(SMALL, 1), b = buildModel(SMALL, 2);
  const sd = await stateDict(a);
  // norm.weight stored as F64 in a file that is otherwise F32
  const f64 = new Float64Array(sd.get("norm.weight")!.data);
  sd.delete("norm.weight");
  const bytes = encodeSafetensors(sd);
  const { header, data } = splitFile(bytes);
  header["norm.weight"] = {
    dtype: "F64",
    shape: [f64.length],
    data_offsets: [data.length, data.length + f64.byteLength],
  };
  const joined = new Uint8Array(data.length + f64.byteLength);
  joined.set(data);
  joined.set(new Uint8Array(f64.buffer), data.length);
  await Deno.writeFile(`${dir}/mixed.st`, rawFile(header, joined));
  await loadSafetensors(b, `${dir}/mixed.st`);
  assertSameWeights(a, b);
  a.dispose();
  b.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("malformed headers are refused naming the file: null, a list, fractional or negative data_offsets, bad shapes", () => {
  const cases: [unknown, RegExp][] = [
    [null, /h\.st: the header is not a JSON object \(got null\)/],
    [[1, 2], /h\.st: the header is not a JSON object \(got a list\)/],
    [
      { w: { dtype: "F32", shape: [1], data_offsets: [0.5, 4.5] } },
      /h\.st: tensor w: data_offsets \[0\.5,4\.5\]: expected two non-negative integers/,
    ],
    [
      { w: { dtype: "F32", shape: [1], data_offsets: [-4, 0] } },
      /h\.st: tensor w: data_offsets \[-4,0\]: expected two non-negative integers/,
    ],
    [
      { w: { dtype: "F32", shape: [0.5, 8], data_offsets: [0, 16] } },
      /h\.st: tensor w: shape \[0\.5,8\]: expected a list of non-negative integers/,
    ],
    [{ w: null }, /h\.st: tensor w has a malformed header entry/],
    [
      { __metadata__: { a: 1 } },
      /h\.st: __metadata__ must map names to strings/,
    ],
  ];
  for (const [header, re] of cases) {
    assert.throws(
      () => decodeSafetensors(rawFile(header, new Uint8Array(16)), "h.st"),
      re,
      JSON.stringify(header),
    );
  }
});

Deno.test("loadSafetensors checks names, shapes and dtypes from the header before reading the data (a 512 MiB tensor is never read)", async () => {
  const dir = await Deno.makeTempDir();
  const m = buildModel(SMALL, 1);
  const sd = await stateDict(m);
  const big = 512 * 2 ** 20;
  const bytes = encodeSafetensors(sd);
  const { header, data } = splitFile(bytes);
  // norm.weight with the wrong shape, 512 MiB, stored as a hole in the file
  header["norm.weight"] = {
    dtype: "F32",
    shape: [big / 4],
    data_offsets: [data.length, data.length + big],
  };
  const path = `${dir}/big.st`;
  await Deno.writeFile(path, rawFile(header, data));
  await Deno.truncate(path, (await Deno.stat(path)).size + big);
  const before = Deno.memoryUsage().rss;
  await assert.rejects(
    () => loadSafetensors(m, path),
    /big\.st: shape mismatch for norm\.weight: expected \[128\], got \[134217728\]/,
  );
  const grown = Deno.memoryUsage().rss - before;
  assert.ok(grown < 128 * 2 ** 20, `rss grew by ${grown} bytes`);
  m.dispose();
  await Deno.remove(dir, { recursive: true });
});
