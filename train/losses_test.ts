import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { crossEntropy, crossEntropyPerSample, dgcmLoss } from "./losses.ts";

await tf.setBackend("cpu");

const lse = (xs: number[]) => Math.log(xs.reduce((s, x) => s + Math.exp(x), 0));
const ce = (row: number[], t: number) => lse(row) - row[t];

Deno.test("crossEntropy equals −log softmax[target], averaged", () => {
  const rows = [[1, 2, 3], [0.5, -1, 2], [3, 0, 0]];
  const t = [2, 0, 1];
  const logits = tf.tensor2d(rows);
  const per = crossEntropyPerSample(logits, t).dataSync();
  rows.forEach((r, i) => assert.ok(Math.abs(per[i] - ce(r, t[i])) < 1e-5));
  const mean = crossEntropy(logits, t).dataSync()[0];
  const want = rows.reduce((s, r, i) => s + ce(r, t[i]), 0) / 3;
  assert.ok(Math.abs(mean - want) < 1e-5, `${mean} vs ${want}`);
  assert.throws(
    () => crossEntropy(logits, [0, 3, 1]),
    /target 1 is 3.*\[0, 3\)/,
  );
  logits.dispose();
});

Deno.test("crossEntropy gradient is (softmax − onehot)/B (finite differences)", () => {
  const rows = [[1, 2, 3], [0.5, -1, 2]];
  const t = [0, 2];
  const g = tf.grad((x: tf.Tensor) => crossEntropy(x as tf.Tensor2D, t))(
    tf.tensor2d(rows),
  );
  const gv = g.arraySync() as number[][];
  const h = 1e-3;
  const f = (r: number[][]) => (ce(r[0], t[0]) + ce(r[1], t[1])) / 2;
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) {
      const up = rows.map((r) => [...r]), dn = rows.map((r) => [...r]);
      up[i][j] += h;
      dn[i][j] -= h;
      const fd = (f(up) - f(dn)) / (2 * h);
      assert.ok(
        Math.abs(gv[i][j] - fd) < 1e-4,
        `(${i},${j}) ${gv[i][j]} vs ${fd}`,
      );
    }
  }
  g.dispose();
});

Deno.test("dgcmLoss = CE(coarse) + α·CE(fine over negative samples only)", () => {
  const coarse = [[2, 0, 0, 0], [0, 1, 0, 0], [1, 0, 0, 3]];
  const fine = [[0, 1, 0, 2], [5, 5, 5, 5], [0, 0, 4, 0]];
  const ct = [0, 1, 0];
  const ft = [3, null, 1];
  const got =
    dgcmLoss(tf.tensor2d(coarse), tf.tensor2d(fine), ct, ft, 0.5).dataSync()[0];
  const want = (ce(coarse[0], 0) + ce(coarse[1], 1) + ce(coarse[2], 0)) / 3 +
    0.5 * (ce(fine[0], 3) + ce(fine[2], 1)) / 2;
  assert.ok(Math.abs(got - want) < 1e-5, `${got} vs ${want}`);
});

Deno.test("dgcmLoss without negative samples is CE(coarse) and gives the fine head no gradient", () => {
  const coarse = tf.tensor2d([[0, 1, 0, 0], [0, 0, 2, 0]]);
  const fine = tf.variable(tf.tensor2d([[1, 2, 3, 4], [4, 3, 2, 1]]));
  const c = tf.variable(coarse);
  const { value, grads } = tf.variableGrads(
    () => dgcmLoss(c, fine, [1, 2], [null, null], 1),
    [c, fine],
  );
  const want = (ce([0, 1, 0, 0], 1) + ce([0, 0, 2, 0], 2)) / 2;
  assert.ok(Math.abs(value.dataSync()[0] - want) < 1e-5);
  assert.ok(grads[c.name] !== undefined);
  assert.equal(grads[fine.name], undefined);
  tf.dispose([coarse, fine, c, value, ...Object.values(grads)]);
});
