import * as tf from "@tensorflow/tfjs";
import { initBackend, webgpuAvailable } from "../runtime.ts";
import { invertPermutation, permute } from "./permute.ts";
import { assertClose, onBackend, seededValues } from "./testing.ts";

await initBackend("cpu");
await initBackend("wasm");
const hasGpu = await webgpuAvailable();
if (hasGpu) await initBackend("webgpu");
await initBackend("cpu");

const BACKENDS = ["cpu", "wasm", "webgpu"];

/** Naive reference: out[..., i, ...] = x[..., perm[i], ...] on a flat array. */
function naivePermute(
  x: Float32Array,
  shape: number[],
  perm: Int32Array,
  axis: number,
): Float32Array {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const n = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < inner; k++) {
        out[(o * n + i) * inner + k] = x[(o * n + perm[i]) * inner + k];
      }
    }
  }
  return out;
}

/** A seeded permutation of 0..n-1 (Fisher–Yates on seededValues). */
function seededPerm(n: number, seed: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  const r = seededValues(n, seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(((r[i] + 1) / 2) * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

const CASES: { shape: number[]; axis: number }[] = [
  { shape: [7], axis: 0 },
  { shape: [2, 49, 5], axis: 1 },
  { shape: [3, 4, 6], axis: -1 },
  { shape: [5, 2, 3], axis: 0 },
];

for (const backend of BACKENDS) {
  Deno.test({
    name:
      `permute matches the naive reordering and its gradient is the inverse reordering (${backend})`,
    ignore: backend === "webgpu" && !hasGpu,
    fn: () =>
      onBackend(backend, async () => {
        for (const [ci, { shape, axis }] of CASES.entries()) {
          const size = shape.reduce((a, b) => a * b, 1);
          const ax = axis < 0 ? axis + shape.length : axis;
          const perm = seededPerm(shape[ax], 11 + ci);
          const xv = seededValues(size, 100 + ci);
          const wv = seededValues(size, 200 + ci);
          const x = tf.tensor(xv, shape);
          const w = tf.tensor(wv, shape);
          const y = permute(x, perm, axis);
          assertClose(
            await y.data() as Float32Array,
            naivePermute(xv, shape, perm, ax),
            0,
            0,
            `forward ${backend} case ${ci}`,
          );
          // d/dx sum(permute(x) * w) = w reordered by the inverse permutation.
          const g = tf.grad((xi: tf.Tensor) =>
            tf.sum(tf.mul(permute(xi, perm, axis), w))
          )(x);
          const inv = invertPermutation(perm, shape[ax]);
          assertClose(
            await g.data() as Float32Array,
            naivePermute(wv, shape, inv, ax),
            0,
            0,
            `gradient ${backend} case ${ci}`,
          );
          tf.dispose([x, w, y, g]);
        }
      }),
  });
}

Deno.test("permute keeps int32 dtype and composes with its inverse to the identity", () =>
  onBackend("wasm", async () => {
    const x = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]], undefined, "int32");
    const perm = Int32Array.from([2, 0, 3, 1]);
    const y = permute(x, perm, 1);
    if (y.dtype !== "int32") throw new Error(`dtype ${y.dtype}`);
    assertClose(await y.data() as Int32Array, [3, 1, 4, 2, 7, 5, 8, 6], 0, 0);
    const back = permute(y, invertPermutation(perm, 4), 1);
    assertClose(
      await back.data() as Int32Array,
      await x.data() as Int32Array,
      0,
      0,
    );
    tf.dispose([x, y, back]);
  }));

Deno.test("permute rejects a non-permutation and a bad axis, naming the value", () => {
  const x = tf.zeros([2, 3]);
  const expectThrow = (f: () => unknown, pattern: RegExp) => {
    try {
      f();
    } catch (e) {
      if (!pattern.test((e as Error).message)) {
        throw new Error(
          `message "${(e as Error).message}" does not match ${pattern}`,
        );
      }
      return;
    }
    throw new Error(`expected an error matching ${pattern}`);
  };
  expectThrow(
    () => permute(x, Int32Array.from([0, 1]), 1),
    /length 2 .* size 3/,
  );
  expectThrow(
    () => permute(x, Int32Array.from([0, 1, 1]), 1),
    /perm\[2\] = 1 repeats perm\[1\]/,
  );
  expectThrow(
    () => permute(x, Int32Array.from([0, 3, 1]), 1),
    /perm\[1\] = 3 is outside 0..2/,
  );
  expectThrow(
    () => permute(x, Int32Array.from([0, 1]), 2),
    /axis 2 is out of range/,
  );
  x.dispose();
});
