import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { registerKernels } from "./backend/register.ts";
import { StreamRng, streamSeed } from "../rng/mod.ts";
import { initValues } from "./init.ts";
import { buildModel } from "./model.ts";
import { merbaBase } from "./config.ts";
import {
  internalShape,
  internalToTorch,
  type ParamSpec,
  torchToInternal,
} from "./params.ts";

await tf.setBackend("cpu");
registerKernels();

Deno.test("StreamRng: same seed → same stream, different seeds differ, uniform in [0,1) with mean ≈ 0.5", () => {
  const a = new StreamRng(42), b = new StreamRng(42), c = new StreamRng(43);
  const xs = Array.from({ length: 1000 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 1000 }, () => b.next()));
  assert.notDeepEqual(
    xs.slice(0, 10),
    Array.from({ length: 10 }, () => c.next()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.03, `${mean}`);
  assert.notEqual(streamSeed(1, "a.weight"), streamSeed(1, "b.weight"));
  assert.notEqual(streamSeed(1, "a.weight"), streamSeed(2, "a.weight"));
});

Deno.test("initValues: normal moments, truncation bounds, kaiming bound, A_log rows, Mamba dt bias range", () => {
  const r = new StreamRng(7);
  const n = initValues(
    { kind: "truncNormal", std: 1, a: -2, b: 2 },
    [20000],
    r,
  );
  const m = n.reduce((s, x) => s + x, 0) / n.length;
  const v = n.reduce((s, x) => s + (x - m) ** 2, 0) / n.length;
  assert.ok(
    Math.abs(m) < 0.03 && Math.abs(v - 0.774) < 0.04,
    `mean ${m} var ${v}`,
  ); // var of N(0,1) cut at ±2
  assert.ok(n.every((x) => x >= -2 && x <= 2));
  const u = initValues({ kind: "uniform", bound: 0.25 }, [5000], r);
  assert.ok(u.every((x) => Math.abs(x) <= 0.25));
  const aLog = initValues({ kind: "aLog" }, [3, 4], r);
  const row = [1, 2, 3, 4].map((i) => Math.fround(Math.log(i)));
  assert.deepEqual(Array.from(aLog), [...row, ...row, ...row]);
  const dt = initValues(
    { kind: "dtBias", dtMin: 0.001, dtMax: 0.1, floor: 1e-4 },
    [500],
    r,
  );
  for (const b of dt) {
    const sp = Math.log1p(Math.exp(b)); // softplus(bias) recovers dt
    assert.ok(sp >= 0.001 * 0.999 && sp <= 0.1 * 1.001, `${sp}`);
  }
});

Deno.test("layout conversions are inverse bijections for linear, conv2d and dwconv1d", () => {
  const cases: [ParamSpec["layout"], number[]][] = [["linear", [3, 5]], [
    "conv2d",
    [4, 3, 3, 2],
  ], ["dwconv1d", [6, 1, 3]]];
  for (const [layout, shape] of cases) {
    const spec: ParamSpec = {
      name: "p",
      torchShape: shape,
      layout,
      init: { kind: "const", value: 0 },
      trainable: true,
      dtype: "float32",
    };
    const vals = Float32Array.from(
      { length: shape.reduce((a, b) => a * b, 1) },
      (_, i) => i,
    );
    const internal = torchToInternal(spec, vals);
    assert.deepEqual([...internal].sort((a, b) => a - b), [...vals]);
    assert.deepEqual(internalToTorch(spec, internal), vals);
  }
  const conv: ParamSpec = {
    name: "c",
    torchShape: [4, 3, 2, 5],
    layout: "conv2d",
    init: { kind: "const", value: 0 },
    trainable: true,
    dtype: "float32",
  };
  assert.deepEqual(internalShape(conv), [2, 5, 3, 4]);
  // torch [o=1, i=2, kh=0, kw=3] ↔ internal [kh=0, kw=3, i=2, o=1]
  const vals = Float32Array.from({ length: 120 }, (_, i) => i);
  const t = torchToInternal(conv, vals);
  assert.equal(
    t[((0 * 5 + 3) * 3 + 2) * 4 + 1],
    vals[((1 * 3 + 2) * 2 + 0) * 5 + 3],
  );
});

Deno.test("buildModel: same seed → bit-identical weights, other seed differs; reference init values", () => {
  const cfg = merbaBase({
    inputSize: 112,
    dims: [16, 32, 64, 128],
    heads: [1, 2, 2, 4],
    stemDim: 8,
    depths: [1, 1, 1, 1],
    windowSize: [7, 7, 7, 4],
  });
  const a = buildModel(cfg, 5), b = buildModel(cfg, 5), c = buildModel(cfg, 6);
  let differ = 0;
  for (const [name, v] of a.params) {
    assert.deepEqual(v.dataSync(), b.params.get(name)!.dataSync(), name);
    if (v.dataSync().some((x, i) => x !== c.params.get(name)!.dataSync()[i])) {
      differ++;
    }
  }
  assert.ok(differ > 20, `${differ} parameters differ across seeds`);
  const aLog = a.params.get("levels.1.blocks.0.mixers.2.A_log")!.dataSync();
  assert.deepEqual(
    Array.from(aLog.slice(0, 8)),
    [1, 2, 3, 4, 5, 6, 7, 8].map((i) => Math.fround(Math.log(i))),
  );
  assert.ok(
    a.params.get("levels.2.blocks.0.mixers.0.D")!.dataSync().every((x) =>
      x === 1
    ),
  );
  assert.ok(
    a.params.get("levels.3.blocks.1.gamma_2")!.dataSync().every((x) =>
      x === Math.fround(1e-5)
    ),
  );
  assert.ok(a.params.get("norm.weight")!.dataSync().every((x) => x === 1));
  assert.ok(
    a.buffers.get("norm.running_var")!.dataSync().every((x) => x === 1),
  );
  assert.ok(a.params.get("head_coarse.bias")!.dataSync().every((x) => x === 0));
  const w = Array.from(
    a.params.get("levels.3.blocks.0.mlp.fc1.weight")!.dataSync(),
  );
  const std = Math.sqrt(w.reduce((s, x) => s + x * x, 0) / w.length);
  assert.ok(Math.abs(std - 0.02) < 0.002, `linear std ${std}`);
  const conv = Array.from(
    a.params.get("levels.0.blocks.0.conv1.weight")!.dataSync(),
  );
  const bound = 1 / Math.sqrt(16 * 9);
  assert.ok(
    conv.every((x) => Math.abs(x) <= bound) && Math.max(...conv) > 0.9 * bound,
  );
  [a, b, c].forEach((m) => m.dispose());
});
