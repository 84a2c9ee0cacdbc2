import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  batchNorm,
  conv2d,
  declareBatchNorm,
  declareConv2d,
  declareLayerNorm,
  declareLinear,
  dropout,
  dropPath,
  gelu,
  geluTanh,
  layerNorm,
  linear,
} from "./basic.ts";
import { assertAllClose, evalCtx, storeWith, values } from "./testing_util.ts";

await tf.setBackend("cpu");

Deno.test("linear matches a naive x·Wᵀ + b with PyTorch [out, in] weights on rank-3 input", () => {
  const s = storeWith((st) => declareLinear(st, "fc", 5, 3, true), 1);
  const x = tf.tensor3d(values(2 * 4 * 5, 2), [2, 4, 5]);
  const y = linear(evalCtx(s), "fc", x);
  assert.deepEqual(y.shape, [2, 4, 3]);
  const w = s.get("fc.weight").dataSync(); // internal [in, out]
  const b = s.get("fc.bias").dataSync();
  const xv = x.dataSync();
  const exp: number[] = [];
  for (let r = 0; r < 8; r++) {
    for (let o = 0; o < 3; o++) {
      let acc = b[o];
      for (let i = 0; i < 5; i++) acc += xv[r * 5 + i] * w[i * 3 + o];
      exp.push(acc);
    }
  }
  assertAllClose(y.dataSync(), exp, 1e-5, "linear");
});

Deno.test("conv2d stride 2 padding 1 matches a naive PyTorch-style convolution (odd and even sizes)", () => {
  for (const [h, w] of [[7, 6], [4, 5]]) {
    const s = storeWith((st) => declareConv2d(st, "c", 3, 4, 3, true), 3);
    const x = tf.tensor4d(values(2 * h * w * 3, 4), [2, h, w, 3]);
    const y = conv2d(evalCtx(s), "c", x, 2, 1);
    const oh = Math.floor((h - 1) / 2) + 1, ow = Math.floor((w - 1) / 2) + 1;
    assert.deepEqual(y.shape, [2, oh, ow, 4]);
    const k = s.get("c.weight").dataSync(); // HWIO
    const b = s.get("c.bias").dataSync();
    const xv = x.dataSync();
    const exp: number[] = [];
    for (let n = 0; n < 2; n++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          for (let o = 0; o < 4; o++) {
            let acc = b[o];
            for (let ky = 0; ky < 3; ky++) {
              for (let kx = 0; kx < 3; kx++) {
                const iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                for (let c = 0; c < 3; c++) {
                  acc += xv[((n * h + iy) * w + ix) * 3 + c] *
                    k[((ky * 3 + kx) * 3 + c) * 4 + o];
                }
              }
            }
            exp.push(acc);
          }
        }
      }
    }
    assertAllClose(y.dataSync(), exp, 1e-5, `conv ${h}x${w}`);
  }
});

Deno.test("gelu (erf) and gelu (tanh) match their closed forms", () => {
  const xs = [-3, -1, -0.5, 0, 0.3, 1, 2.5];
  // torch.nn.functional.gelu(x) in float64 (exact erf form), rounded to 7 digits
  const exact = [
    -0.0040497,
    -0.1586553,
    -0.1542688,
    0,
    0.1853734,
    0.8413447,
    2.4844758,
  ];
  assertAllClose(gelu(tf.tensor1d(xs)).dataSync(), exact, 2e-6, "gelu");
  const tanhRef = xs.map((x) =>
    0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))
  );
  assertAllClose(
    geluTanh(tf.tensor1d(xs)).dataSync(),
    tanhRef,
    1e-6,
    "gelu tanh",
  );
});

Deno.test("layerNorm matches a naive per-token normalisation with biased variance", () => {
  const s = storeWith((st) => declareLayerNorm(st, "ln", 6), 5);
  const x = tf.tensor3d(values(2 * 3 * 6, 6), [2, 3, 6]);
  const y = layerNorm(evalCtx(s), "ln", x).dataSync();
  const xv = x.dataSync(),
    w = s.get("ln.weight").dataSync(),
    b = s.get("ln.bias").dataSync();
  const exp: number[] = [];
  for (let t = 0; t < 6; t++) {
    const row = Array.from(xv.slice(t * 6, t * 6 + 6));
    const m = row.reduce((a, c) => a + c, 0) / 6;
    const v = row.reduce((a, c) => a + (c - m) ** 2, 0) / 6;
    row.forEach((c, i) =>
      exp.push((c - m) / Math.sqrt(v + 1e-5) * w[i] + b[i])
    );
  }
  assertAllClose(y, exp, 1e-5, "layerNorm");
});

Deno.test("batchNorm: eval uses running stats; training normalises by batch stats and updates running stats like PyTorch (momentum 0.1, unbiased var, num_batches_tracked)", () => {
  const s = storeWith((st) => declareBatchNorm(st, "bn", 3), 7);
  const x = tf.tensor4d(values(2 * 2 * 3 * 3, 8).map((v, i) => v + (i % 3)), [
    2,
    2,
    3,
    3,
  ]);
  const xv = x.dataSync();
  const w = s.get("bn.weight").dataSync(), b = s.get("bn.bias").dataSync();
  const rm0 = s.get("bn.running_mean").dataSync().slice();
  const rv0 = s.get("bn.running_var").dataSync().slice();
  const ev = batchNorm(evalCtx(s), "bn", x, 1e-5).dataSync();
  const evExp = Array.from(xv, (v, i) => {
    const c = i % 3;
    return (v - rm0[c]) / Math.sqrt(rv0[c] + 1e-5) * w[c] + b[c];
  });
  assertAllClose(ev, evExp, 1e-5, "bn eval");

  const tr = batchNorm({ store: s, training: true, seed: 1 }, "bn", x, 1e-5)
    .dataSync();
  const n = 12;
  for (let c = 0; c < 3; c++) {
    const vals = Array.from(xv).filter((_, i) => i % 3 === c);
    const m = vals.reduce((a, v) => a + v, 0) / n;
    const vb = vals.reduce((a, v) => a + (v - m) ** 2, 0) / n;
    const got = Array.from(tr).filter((_, i) => i % 3 === c);
    assertAllClose(
      got,
      vals.map((v) => (v - m) / Math.sqrt(vb + 1e-5) * w[c] + b[c]),
      1e-5,
      "bn train",
    );
    assertAllClose(
      [s.get("bn.running_mean").dataSync()[c]],
      [0.9 * rm0[c] + 0.1 * m],
      1e-6,
      "rm",
    );
    assertAllClose(
      [s.get("bn.running_var").dataSync()[c]],
      [0.9 * rv0[c] + 0.1 * vb * n / (n - 1)],
      1e-6,
      "rv",
    );
  }
  assert.equal(s.get("bn.num_batches_tracked").dataSync()[0], 1);
});

Deno.test("batchNorm running-stat updates work inside tf.variableGrads without leaking tensors", () => {
  const s = storeWith((st) => declareBatchNorm(st, "bn", 2), 9);
  const x = tf.tensor4d(values(4 * 2 * 2 * 2, 10), [4, 2, 2, 2]);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const { value, grads } = tf.variableGrads(() =>
      tf.sum(
        tf.square(batchNorm({ store: s, training: true, seed: i }, "bn", x)),
      ) as tf.Scalar
    );
    assert.ok(Number.isFinite(value.dataSync()[0]));
    assert.deepEqual(Object.keys(grads).length, 2); // weight and bias only
    tf.dispose([value, grads as unknown as tf.Tensor[]]);
  }
  assert.equal(tf.memory().numTensors, before);
  assert.equal(s.get("bn.num_batches_tracked").dataSync()[0], 3);
});

Deno.test("dropPath and dropout: seeded, reproducible, scaled by 1/keep, identity in eval mode, seed required", () => {
  const s = storeWith(() => {}, 1);
  const x = tf.ones([64, 3]);
  const a = dropPath({ store: s, training: true, seed: 11 }, "blk", x, 0.25)
    .dataSync();
  const b = dropPath({ store: s, training: true, seed: 11 }, "blk", x, 0.25)
    .dataSync();
  const c = dropPath({ store: s, training: true, seed: 12 }, "blk", x, 0.25)
    .dataSync();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  for (let i = 0; i < 64; i++) {
    assert.ok(a[3 * i] === 0 || Math.abs(a[3 * i] - 1 / 0.75) < 1e-6);
    assert.equal(a[3 * i], a[3 * i + 2]); // one draw per sample
  }
  const kept = Array.from(a).filter((v) => v > 0).length / 3;
  assert.ok(kept > 32 && kept < 60, `kept ${kept} of 64`);
  assert.deepEqual(
    dropPath(evalCtx(s), "blk", x, 0.25).dataSync(),
    x.dataSync(),
  );
  const d = dropout({ store: s, training: true, seed: 3 }, "head", x, 0.5)
    .dataSync();
  assert.ok(Array.from(d).every((v) => v === 0 || v === 2));
  assert.throws(
    () => dropPath({ store: s, training: true }, "blk", x, 0.1),
    /seed/,
  );
});
