import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../runtime.ts";
import { nativeKernelConfig } from "./register.ts";
import { maxScaledError, onBackend, seededValues } from "./testing.ts";

await initBackend("cpu");
await initBackend("wasm");

function assertScaled(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  label: string,
  tol = 1e-5,
): void {
  const e = maxScaledError(got, want);
  if (!(e <= tol)) throw new Error(`${label}: max scaled error ${e} > ${tol}`);
}

/** Gradient of sum(gather(x, idx, axis) * r) wrt x, on the active backend. */
async function gatherGrad(
  shape: number[],
  idx: number[],
  axis: number,
): Promise<Float32Array> {
  const x = tf.tensor(seededValues(shape.reduce((a, b) => a * b), 7), shape);
  const ind = tf.tensor1d(idx, "int32");
  const y0 = tf.gather(x, ind, axis);
  const r = tf.tensor(seededValues(y0.size, 8), y0.shape);
  const g = tf.grad((xi: tf.Tensor) =>
    tf.sum(tf.mul(tf.gather(xi, ind, axis), r))
  )(x);
  const out = await g.data() as Float32Array;
  tf.dispose([x, ind, y0, r, g]);
  return out;
}

Deno.test("wasm gather gradient (UnsortedSegmentSum) matches the cpu backend, repeated indices included", async () => {
  const cases: [number[], number[], number][] = [
    [[6, 3], [0, 5, 5, 2, 0, 1], 0],
    [[2, 5, 4], [4, 4, 0, 3], 1],
    [[3, 7], [6, 0, 6, 6], 1],
  ];
  for (const [shape, idx, axis] of cases) {
    const want = await onBackend("cpu", () => gatherGrad(shape, idx, axis));
    const got = await onBackend("wasm", () => gatherGrad(shape, idx, axis));
    assertScaled(got, want, `gather grad shape [${shape}] axis ${axis}`);
  }
});

Deno.test("wasm UnsortedSegmentSum drops out-of-range ids like the cpu backend", async () => {
  const run = () => {
    const x = tf.tensor(seededValues(6 * 4, 9), [6, 4]);
    const ids = tf.tensor1d([0, 2, -1, 2, 5, 1], "int32");
    const y = tf.unsortedSegmentSum(x, ids, 3);
    return y.data().then((d) => {
      const shape = y.shape;
      tf.dispose([x, ids, y]);
      return { d: d as Float32Array, shape };
    });
  };
  const want = await onBackend("cpu", run);
  const got = await onBackend("wasm", run);
  if (got.shape.join() !== "3,4" || want.shape.join() !== "3,4") {
    throw new Error(`shapes ${got.shape} / ${want.shape}`);
  }
  assertScaled(got.d, want.d, "unsortedSegmentSum with ids -1 and 5");
});

/** Gradient of sum(maxPool(x) * r) wrt x, on the active backend. */
async function maxPoolGrad(
  xShape: [number, number, number, number],
  size: number,
  stride: number,
  pad: "same" | "valid",
  quantize: boolean,
): Promise<Float32Array> {
  let xv = seededValues(xShape.reduce((a, b) => a * b), 10);
  // quantized inputs create ties inside windows: the first max must win.
  if (quantize) xv = xv.map((v) => Math.round(v * 2) / 2);
  const x = tf.tensor4d(xv, xShape);
  const y0 = tf.maxPool(x, size, stride, pad);
  const r = tf.tensor(seededValues(y0.size, 11), y0.shape);
  const g = tf.grad((xi: tf.Tensor) =>
    tf.sum(tf.mul(tf.maxPool(xi as tf.Tensor4D, size, stride, pad), r))
  )(x);
  const out = await g.data() as Float32Array;
  tf.dispose([x, y0, r, g]);
  return out;
}

const POOLS: [
  [number, number, number, number],
  number,
  number,
  "same" | "valid",
  boolean,
][] = [
  [[2, 6, 6, 3], 2, 2, "valid", false],
  [[2, 7, 5, 2], 3, 2, "same", false],
  [[3, 5, 5, 4], 3, 1, "same", true],
  [[1, 4, 4, 1], 2, 2, "valid", true],
];

Deno.test("wasm MaxPoolGrad matches the cpu backend for batch > 1, channels > 1 and ties", async () => {
  for (const [shape, size, stride, pad, q] of POOLS) {
    const want = await onBackend(
      "cpu",
      () => maxPoolGrad(shape, size, stride, pad, q),
    );
    const got = await onBackend(
      "wasm",
      () => maxPoolGrad(shape, size, stride, pad, q),
    );
    assertScaled(
      got,
      want,
      `maxPool grad [${shape}] ${size}/${stride} ${pad} ties=${q}`,
      1e-6,
    );
  }
});

Deno.test("wasm's native MaxPoolGrad is wrong for batch 2 (why the provided one replaces it)", async () => {
  const native = nativeKernelConfig("MaxPoolGrad", "wasm");
  if (!native) throw new Error("the native MaxPoolGrad was not kept");
  const [shape, size, stride, pad] = POOLS[0];
  const want = await onBackend(
    "cpu",
    () => maxPoolGrad(shape, size, stride, pad, false),
  );
  await onBackend("wasm", async () => {
    const backend = tf.backend();
    native.setupFunc?.(backend);
    const x = tf.tensor4d(
      seededValues(shape.reduce((a, b) => a * b), 10),
      shape,
    );
    const y = tf.maxPool(x, size, stride, pad);
    const dy = tf.tensor(seededValues(y.size, 11), y.shape);
    const info = native.kernelFunc({
      inputs: { dy, input: x, output: y },
      backend,
      attrs: { filterSize: size, strides: stride, pad },
    }) as tf.TensorInfo;
    const theirs = tf.engine().makeTensorFromTensorInfo(info);
    const e = maxScaledError(await theirs.data() as Float32Array, want);
    tf.dispose([x, y, dy, theirs]);
    if (!(e > 1e-3)) {
      throw new Error(
        `wasm's native MaxPoolGrad now matches cpu (error ${e}): the replacement may be dropped`,
      );
    }
  });
});
