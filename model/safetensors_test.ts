import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { merbaBase } from "./config.ts";
import { buildModel } from "./model.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  loadStateDict,
  readSafetensors,
  type SafeTensor,
  saveSafetensors,
  stateDict,
} from "./safetensors.ts";

await tf.setBackend("cpu");

const SMALL = merbaBase({
  inputSize: 112,
  dims: [16, 32, 64, 128],
  heads: [1, 2, 2, 4],
  stemDim: 8,
  depths: [1, 1, 1, 1],
  windowSize: [7, 7, 7, 4],
});

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
    JSON.stringify({ w: { dtype: "BF16", shape: [1], data_offsets: [0, 2] } }),
  );
  const buf = new Uint8Array(8 + bad.length + 2);
  new DataView(buf.buffer).setBigUint64(0, BigInt(bad.length), true);
  buf.set(bad, 8);
  assert.throws(
    () => decodeSafetensors(buf, "z.st"),
    /z.st: tensor w has unsupported dtype BF16/,
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
  for (const [k, v] of [...a.params, ...a.buffers]) {
    assert.deepEqual(
      (b.params.get(k) ?? b.buffers.get(k))!.dataSync(),
      v.dataSync(),
      k,
    );
  }
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
