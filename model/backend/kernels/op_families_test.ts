/**
 * Forward + backward of a small network that uses every op family the
 * MERba / MambaVision models need, on cpu, wasm and webgpu; loss and every
 * parameter gradient are compared with the cpu backend.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend, webgpuAvailable } from "../runtime.ts";
import { permute } from "./permute.ts";
import { maxScaledError, onBackend, seededValues } from "./testing.ts";

await initBackend("cpu");
await initBackend("wasm");
const hasGpu = await webgpuAvailable();
if (hasGpu) await initBackend("webgpu");
await initBackend("cpu");

const PARAM_SHAPES: Record<string, number[]> = {
  w1: [3, 3, 2, 4], // conv s1 'same'
  g1: [4],
  b1: [4],
  w2: [3, 3, 4, 8], // conv s2 explicit pad
  wd: [3, 3, 8, 1], // depthwise 'same'
  w3: [3, 3, 8, 8], // conv s2 'same'
  lnG: [8],
  lnB: [8],
  wIn: [8, 16], // dense
  bIn: [16],
  wq: [16, 8],
  wk: [16, 8],
  wv: [16, 8],
  wOut: [16, 3],
  bOut: [3],
};
const NAMES = Object.keys(PARAM_SHAPES);
const X_SHAPE: [number, number, number, number] = [2, 8, 8, 2];
const TOKENS = 16;
const PERM = Int32Array.from([
  3,
  0,
  7,
  12,
  1,
  15,
  4,
  9,
  2,
  11,
  6,
  14,
  5,
  8,
  13,
  10,
]);

function geluTanh(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(
    Math.sqrt(2 / Math.PI),
    tf.add(x, tf.mul(0.044715, tf.pow(x, 3))),
  );
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

function geluErf(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
}

function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** Normalisation over `axes` from moments (batch norm: [0,1,2]; layer norm: [-1]). */
function norm(
  x: tf.Tensor,
  axes: number[],
  g: tf.Tensor,
  b: tf.Tensor,
): tf.Tensor {
  const { mean, variance } = tf.moments(x, axes, true);
  return tf.add(
    tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g),
    b,
  );
}

function network(
  x: tf.Tensor4D,
  p: Record<string, tf.Tensor>,
  mask: tf.Tensor,
  labels: tf.Tensor,
): tf.Scalar {
  let h = tf.conv2d(x, p.w1 as tf.Tensor4D, 1, "same");
  h = geluTanh(norm(h, [0, 1, 2], p.g1, p.b1)) as tf.Tensor4D;
  h = geluErf(
    tf.conv2d(h, p.w2 as tf.Tensor4D, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]),
  ) as tf.Tensor4D; // [2,4,4,8]
  const d = silu(
    tf.depthwiseConv2d(h, p.wd as tf.Tensor4D, 1, "same"),
  ) as tf.Tensor4D;
  const side = tf.mean(tf.conv2d(d, p.w3 as tf.Tensor4D, 2, "same"), [1, 2]); // [2,8]
  const pooled2 = tf.mean(tf.avgPool(d, 2, 2, "valid"), [1, 2]); // [2,8]
  let t: tf.Tensor = tf.reshape(d, [2, TOKENS, 8]);
  t = permute(t, PERM, 1);
  t = norm(t, [-1], p.lnG, p.lnB);
  t = tf.add(tf.matMul(tf.reshape(t, [2 * TOKENS, 8]), p.wIn), p.bIn);
  t = tf.reshape(t, [2, TOKENS, 16]);
  const a = tf.slice(t, [0, 0, 0], [2, TOKENS, 8]);
  const bHalf = tf.slice(t, [0, 0, 8], [2, TOKENS, 8]);
  t = tf.concat([tf.softplus(a), tf.exp(tf.neg(tf.abs(bHalf)))], 2);
  const flat = tf.reshape(t, [2 * TOKENS, 16]);
  const q = tf.reshape(tf.matMul(flat, p.wq), [2, TOKENS, 8]);
  const k = tf.reshape(tf.matMul(flat, p.wk), [2, TOKENS, 8]);
  const v = tf.reshape(tf.matMul(flat, p.wv), [2, TOKENS, 8]);
  const att = tf.softmax(
    tf.div(tf.matMul(q, tf.transpose(k, [0, 2, 1])), Math.sqrt(8)),
  );
  let o: tf.Tensor = tf.matMul(att, v); // [2,16,8]
  o = tf.slice(tf.pad(o, [[0, 0], [1, 2], [0, 0]]), [0, 1, 0], [2, TOKENS, 8]);
  o = tf.mul(o, mask); // dropout-style fixed mask, already scaled by 1/keep
  const pooled = tf.concat([tf.mean(o, 1), tf.add(side, pooled2)], 1); // [2,16]
  const logits = tf.add(tf.matMul(pooled, p.wOut), p.bOut);
  return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
}

async function lossAndGrads(): Promise<
  { loss: number; grads: Record<string, Float32Array> }
> {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const x = tf.tensor4d(seededValues(size(X_SHAPE), 1), X_SHAPE);
  const params = NAMES.map((n, i) => {
    const v = seededValues(size(PARAM_SHAPES[n]), 100 + i);
    const scale = n.startsWith("g") || n === "lnG" ? 0 : 0.5;
    return tf.tensor(
      v.map((e) => (scale === 0 ? 1 + 0.1 * e : scale * e)),
      PARAM_SHAPES[n],
    );
  });
  const keep = seededValues(2 * TOKENS * 8, 7).map((
    e,
  ) => (e > -0.8 ? 1 / 0.9 : 0));
  const mask = tf.tensor(keep, [2, TOKENS, 8]);
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([2, 0], "int32"), 3));
  const f = (...ps: tf.Tensor[]) =>
    network(
      x,
      Object.fromEntries(NAMES.map((n, i) => [n, ps[i]])),
      mask,
      labels,
    );
  const { value, grads } = tf.valueAndGrads(f)(params);
  const out: Record<string, Float32Array> = {};
  for (const [i, n] of NAMES.entries()) {
    out[n] = await grads[i].data() as Float32Array;
  }
  const loss = (await value.data())[0];
  tf.dispose([x, mask, labels, value, ...params, ...grads]);
  return { loss, grads: out };
}

const reference = await onBackend("cpu", lossAndGrads);

for (const backend of ["cpu", "wasm", "webgpu"]) {
  Deno.test({
    name:
      `every model op family: loss and gradients on ${backend} match the cpu backend`,
    ignore: backend === "webgpu" && !hasGpu,
    fn: async () => {
      const before = await onBackend(backend, () => tf.memory().numTensors);
      const got = await onBackend(backend, lossAndGrads);
      const after = await onBackend(backend, () => tf.memory().numTensors);
      if (after !== before) {
        throw new Error(`${backend}: ${after - before} tensors leaked`);
      }
      if (
        !(Math.abs(got.loss - reference.loss) <=
          1e-5 * Math.abs(reference.loss))
      ) {
        throw new Error(
          `${backend}: loss ${got.loss} vs cpu ${reference.loss}`,
        );
      }
      for (const n of NAMES) {
        const want = reference.grads[n];
        if (!want.some((v) => v !== 0)) {
          throw new Error(
            `cpu gradient of ${n} is all zero: the test would prove nothing`,
          );
        }
        const e = maxScaledError(got.grads[n], want);
        if (!(e <= 1e-5)) {
          throw new Error(
            `${backend}: gradient of ${n}: max scaled error ${e} > 1e-5`,
          );
        }
      }
    },
  });
}

if (!hasGpu) {
  console.warn("webgpu skipped: navigator.gpu has no adapter on this machine");
}

for (const backend of ["wasm", "webgpu"]) {
  Deno.test({
    name:
      `every model op family: a repeated step on ${backend} gives bit-identical loss and gradients`,
    ignore: backend === "webgpu" && !hasGpu,
    fn: async () => {
      const a = await onBackend(backend, lossAndGrads);
      const b = await onBackend(backend, lossAndGrads);
      if (a.loss !== b.loss) throw new Error(`loss ${a.loss} then ${b.loss}`);
      for (const n of NAMES) {
        const i = a.grads[n].findIndex((v, j) => v !== b.grads[n][j]);
        if (i >= 0) {
          throw new Error(
            `gradient of ${n}[${i}]: ${a.grads[n][i]} then ${b.grads[n][i]}`,
          );
        }
      }
    },
  });
}
