import * as tf from "@tensorflow/tfjs";
import { attention, declareAttention } from "./attention.ts";
import { assertAllClose, evalCtx, storeWith, values } from "./testing_util.ts";

await tf.setBackend("cpu");

Deno.test("attention matches a naive multi-head softmax(QKᵀ/√d)V with qkv/proj biases", () => {
  const [b, n, c, heads] = [2, 5, 6, 3];
  const hd = c / heads;
  const s = storeWith((st) => declareAttention(st, "a", c), 4);
  const x = tf.tensor3d(values(b * n * c, 5), [b, n, c]);
  const got = attention(evalCtx(s), "a", x, heads).dataSync();
  const xv = x.dataSync();
  const wq = s.get("a.qkv.weight").dataSync(),
    bq = s.get("a.qkv.bias").dataSync();
  const wp = s.get("a.proj.weight").dataSync(),
    bp = s.get("a.proj.bias").dataSync();
  const lin = (
    row: ArrayLike<number>,
    w: ArrayLike<number>,
    bias: ArrayLike<number>,
    inF: number,
    outF: number,
  ) =>
    Array.from({ length: outF }, (_, o) => {
      let acc = bias[o];
      for (let i = 0; i < inF; i++) acc += row[i] * w[i * outF + o];
      return acc;
    });
  const exp: number[] = [];
  for (let bi = 0; bi < b; bi++) {
    const qkv = Array.from(
      { length: n },
      (_, t) =>
        lin(xv.slice((bi * n + t) * c, (bi * n + t + 1) * c), wq, bq, c, 3 * c),
    );
    const merged = Array.from({ length: n }, () => new Array(c).fill(0));
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < n; i++) {
        const sc = Array.from({ length: n }, (_, j) => {
          let d = 0;
          for (let e = 0; e < hd; e++) {
            d += qkv[i][h * hd + e] * qkv[j][c + h * hd + e];
          }
          return d / Math.sqrt(hd);
        });
        const mx = Math.max(...sc);
        const ex = sc.map((v) => Math.exp(v - mx));
        const z = ex.reduce((a, v) => a + v, 0);
        for (let e = 0; e < hd; e++) {
          let acc = 0;
          for (let j = 0; j < n; j++) {
            acc += ex[j] / z * qkv[j][2 * c + h * hd + e];
          }
          merged[i][h * hd + e] = acc;
        }
      }
    }
    for (let i = 0; i < n; i++) exp.push(...lin(merged[i], wp, bp, c, c));
  }
  assertAllClose(got, exp, 1e-5, "attention");
});
