/**
 * Parity of the assembled models with the PyTorch re-implementation in
 * testdata/gen_fixtures.py (weights, inputs and outputs as safetensors).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildModel } from "../model/model.ts";
import { initBackend } from "../model/backend/runtime.ts";
import {
  loadSafetensors,
  readSafetensors,
  type SafeTensor,
} from "../model/safetensors.ts";
import type { ModelConfig } from "../model/types.ts";

const DIR = new URL("../model/testdata/", import.meta.url).pathname;
const CASES = ["mambavision_tiny", "merba_tiny", "merba_variant"];

function nchwToNhwc(t: SafeTensor): tf.Tensor4D {
  return tf.tidy(() =>
    tf.transpose(
      tf.tensor4d(
        t.data as Float32Array,
        t.shape as [number, number, number, number],
      ),
      [0, 2, 3, 1],
    ) as tf.Tensor4D
  );
}

function maxAbsDiff(a: tf.Tensor, expected: Float32Array | Int32Array): number {
  const v = a.dataSync();
  assert.equal(v.length, expected.length);
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    m = Math.max(m, Math.abs(v[i] - expected[i]));
  }
  return m;
}

async function runCase(name: string) {
  const config = JSON.parse(
    await Deno.readTextFile(`${DIR}${name}.config.json`),
  ) as ModelConfig;
  const model = buildModel(config, 1);
  await loadSafetensors(model, `${DIR}${name}.weights.safetensors`);
  const io = (await readSafetensors(`${DIR}${name}.io.safetensors`)).tensors;
  const x = nchwToNhwc(io.get("input")!);
  const out = model.apply(x, { training: false, features: true });
  const heads = config.head === "linear" ? ["logits"] : ["coarse", "fine"];
  for (const h of heads) {
    const got = out[h as "logits"]!;
    const d = maxAbsDiff(got, io.get(h)!.data);
    assert.ok(d < 1e-4, `${name} ${h}: max |diff| ${d}`);
  }
  out.features!.forEach((f, i) => {
    const ref = nchwToNhwc(io.get(`features.${i}`)!);
    assert.deepEqual(f.shape, ref.shape);
    const d = maxAbsDiff(f, ref.dataSync() as Float32Array);
    assert.ok(d < 1e-4, `${name} features.${i}: max |diff| ${d}`);
    ref.dispose();
  });
  // training mode: batch statistics and running-stat updates as PyTorch
  const tout = model.apply(x, { training: true, seed: 3 });
  for (const h of heads) {
    const d = maxAbsDiff(tout[h as "logits"]!, io.get(`train.${h}`)!.data);
    assert.ok(d < 1e-4, `${name} train.${h}: max |diff| ${d}`);
  }
  let checked = 0;
  for (const [k, t] of io) {
    if (!k.startsWith("after.")) continue;
    const v = model.buffers.get(k.slice(6))!;
    assert.ok(v, `buffer ${k.slice(6)}`);
    const d = maxAbsDiff(v, t.data);
    assert.ok(d < 1e-4, `${name} ${k}: max |diff| ${d}`);
    checked++;
  }
  assert.ok(checked > 0);
  tf.dispose([x, out as tf.TensorContainer, tout as tf.TensorContainer]);
  model.dispose();
}

for (const backend of ["cpu", "wasm"] as const) {
  for (const name of CASES) {
    Deno.test(`parity with PyTorch on ${backend} (${name}): eval logits, per-stage features, train-mode logits and BN running stats within 1e-4`, async () => {
      await initBackend(backend);
      await runCase(name);
    });
  }
}
