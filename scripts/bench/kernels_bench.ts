/**
 * Benchmark of the conv backprop kernels the model library provides for the
 * wasm backend against the alternatives, timed in the same process:
 *
 * - Conv2DBackpropInput: the provided kernel (sub-pixel conv for equal
 *   strides) vs wasm's native (loop) kernel and vs the conv over the
 *   stride-dilated dy, beside the forward conv (same FLOPs);
 * - Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter/Input (absent
 *   on wasm): the provided kernels beside the forward conv; column
 *   "alt/ours dW" is the unregistered alternative over the registered one
 *   (conv: im2col + matMul vs the conv form; depthwise: the depthwise-conv
 *   form vs the heap loop); with `--cpu`, the cpu backend's kernels too;
 * - one training step of a small conv net with the provided vs the native
 *   Conv2DBackpropInput.
 *
 * Usage: `deno run -A scripts/bench/kernels_bench.ts [--batch 8] [--reps 5] [--cpu]`
 *
 * `--cpu` adds the cpu backend's kernels (one run each; minutes per shape
 * at batch 8 — use `--batch 1`).
 *
 * Prints a table of median milliseconds and ratios. Timings depend on the
 * machine's load; only ratios from one run are comparable.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { initBackend } from "../../model/backend/runtime.ts";
import {
  conv2DBackpropFilterIm2col,
  conv2DBackpropFilterViaConv,
  conv2DBackpropInputDilated,
  depthwiseBackpropFilterViaConv,
  depthwiseBackpropFilterWasm,
  nativeKernelConfig,
} from "../../model/backend/kernels/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    batch: { type: "string", default: "8" },
    reps: { type: "string", default: "5" },
    cpu: { type: "boolean", default: false },
  },
});
const B = Number(values.batch), REPS = Number(values.reps);
if (!(B >= 1 && REPS >= 1)) {
  throw new Error(
    `--batch and --reps must be positive, got ${values.batch}, ${values.reps}`,
  );
}

await initBackend("cpu");
const info = await initBackend("wasm");

/** Median wall time in ms of `f` (kernel outputs are disposed by `f`). */
function time(f: () => void, reps = REPS): number {
  f();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

function run(
  kernel: string,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, unknown>,
): () => void {
  return () => {
    const out = tf.engine().runKernel(
      kernel,
      inputs,
      attrs as tf.NamedAttrMap,
    ) as tf.Tensor;
    out.dispose();
  };
}

interface Shape {
  name: string;
  x: [number, number, number, number];
  k: number;
  cout: number;
  stride: number;
  depthwise?: boolean;
}

const SHAPES: Shape[] = [
  {
    name: "stem conv 2→64 s2 @112",
    x: [B, 112, 112, 2],
    k: 3,
    cout: 64,
    stride: 2,
  },
  {
    name: "stem conv 64→128 s2 @56",
    x: [B, 56, 56, 64],
    k: 3,
    cout: 128,
    stride: 2,
  },
  {
    name: "conv block 128→128 s1 @28",
    x: [B, 28, 28, 128],
    k: 3,
    cout: 128,
    stride: 1,
  },
  {
    name: "downsample 128→256 s2 @28",
    x: [B, 28, 28, 128],
    k: 3,
    cout: 256,
    stride: 2,
  },
  {
    name: "dw conv1d k3 C=128 L=196",
    x: [B * 4, 1, 196, 128],
    k: 3,
    cout: 128,
    stride: 1,
    depthwise: true,
  },
  {
    name: "dw conv3x3 C=128 s1 @28",
    x: [B, 28, 28, 128],
    k: 3,
    cout: 128,
    stride: 1,
    depthwise: true,
  },
];

const rows: string[][] = [];
const nativeInput = nativeKernelConfig("Conv2DBackpropInput", "wasm");
if (nativeInput?.setupFunc) nativeInput.setupFunc(tf.backend());

for (const s of SHAPES) {
  const kh = s.x[1] === 1 ? 1 : s.k;
  const wShape: [number, number, number, number] = s.depthwise
    ? [kh, s.k, s.x[3], 1]
    : [kh, s.k, s.x[3], s.cout];
  const x = tf.randomUniform(s.x, -1, 1, "float32", 1) as tf.Tensor4D;
  const w = tf.randomUniform(wShape, -1, 1, "float32", 2) as tf.Tensor4D;
  const strides: [number, number] = [s.stride, s.stride];
  const fwd = () =>
    (s.depthwise
      ? tf.depthwiseConv2d(x, w, strides, "same")
      : tf.conv2d(x, w, strides, "same")).dispose();
  const y = s.depthwise
    ? tf.depthwiseConv2d(x, w, strides, "same")
    : tf.conv2d(x, w, strides, "same");
  const dy = tf.randomUniform(y.shape, -1, 1, "float32", 3);
  const fKernel = s.depthwise
    ? "DepthwiseConv2dNativeBackpropFilter"
    : "Conv2DBackpropFilter";
  const iKernel = s.depthwise
    ? "DepthwiseConv2dNativeBackpropInput"
    : "Conv2DBackpropInput";
  const fAttrs = {
    strides,
    pad: "same",
    dataFormat: "NHWC",
    dilations: [1, 1],
    filterShape: wShape,
  };
  const iAttrs = {
    strides,
    pad: "same",
    dataFormat: "NHWC",
    dilations: [1, 1],
    inputShape: s.x,
  };
  const tFwd = time(fwd);
  const tF = time(run(fKernel, { x, dy }, fAttrs));
  const tI = time(run(iKernel, { dy, filter: w }, iAttrs));
  let tNative = NaN;
  if (!s.depthwise && nativeInput) {
    const backend = tf.backend();
    tNative = time(() => {
      const o = nativeInput.kernelFunc({
        inputs: { dy, filter: w },
        backend,
        attrs: iAttrs as unknown as tf.NamedAttrMap,
      }) as tf.TensorInfo;
      backend.disposeData(o.dataId);
    });
  }
  let tDil = NaN;
  if (!s.depthwise && s.stride > 1) {
    const backend = tf.backend();
    tDil = time(() => {
      const o = conv2DBackpropInputDilated({
        inputs: { dy, filter: w },
        backend,
        attrs: iAttrs as unknown as tf.NamedAttrMap,
      });
      backend.disposeData(o.dataId);
    });
  }
  let tAltF = NaN;
  if (!s.depthwise) {
    const backend = tf.backend();
    const registered = tf.getKernel(fKernel, "wasm")?.kernelFunc;
    const alt = registered === conv2DBackpropFilterIm2col
      ? conv2DBackpropFilterViaConv
      : conv2DBackpropFilterIm2col;
    tAltF = time(() => {
      const o = alt({
        inputs: { x, dy },
        backend,
        attrs: fAttrs as unknown as tf.NamedAttrMap,
      });
      backend.disposeData(o.dataId);
    });
  }
  if (s.depthwise) {
    const backend = tf.backend();
    const alt =
      tf.getKernel(fKernel, "wasm")?.kernelFunc === depthwiseBackpropFilterWasm
        ? depthwiseBackpropFilterViaConv
        : depthwiseBackpropFilterWasm;
    tAltF = time(() => {
      const o = alt({
        inputs: { x, dy },
        backend,
        attrs: fAttrs as unknown as tf.NamedAttrMap,
      });
      backend.disposeData(o.dataId);
    });
  }
  let tCpuF = NaN, tCpuI = NaN;
  if (values.cpu) {
    await tf.setBackend("cpu");
    tCpuF = time(run(fKernel, { x, dy }, fAttrs), 1);
    tCpuI = time(run(iKernel, { dy, filter: w }, iAttrs), 1);
    await tf.setBackend("wasm");
  }
  const r = (a: number, b: number) =>
    Number.isNaN(a) || Number.isNaN(b) ? "–" : (a / b).toFixed(2);
  rows.push([
    s.name,
    tFwd.toFixed(1),
    tF.toFixed(1),
    tI.toFixed(1),
    Number.isNaN(tNative) ? "–" : tNative.toFixed(1),
    r(tNative, tI),
    r(tDil, tI),
    r(tAltF, tF),
    r(tCpuF, tF),
    r(tCpuI, tI),
  ]);
  tf.dispose([x, w, y, dy]);
}

const header = [
  "shape (wasm, batch " + B + ")",
  "fwd ms",
  "dW ms",
  "dX ms",
  "native dX ms",
  "native/ours dX",
  "dilated/ours dX",
  "alt/ours dW",
  "cpu/ours dW",
  "cpu/ours dX",
];
const widths = header.map((h, i) =>
  Math.max(h.length, ...rows.map((r) => r[i].length))
);
const line = (cells: string[]) =>
  "| " + cells.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
console.log(
  `wasm threads ${info.threads}, simd ${info.simd}, deno ${info.versions.deno}, tfjs ${info.versions.tfjs}; median of ${REPS} (cpu: 1 run)`,
);
console.log(line(header));
console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
for (const r of rows) console.log(line(r));

// End to end: one training step (forward + all gradients) of a small conv
// net, with the provided Conv2DBackpropInput vs wasm's native one.
{
  const native = nativeKernelConfig("Conv2DBackpropInput", "wasm");
  const ours = tf.getKernel("Conv2DBackpropInput", "wasm");
  if (native && ours) {
    const x = tf.randomUniform(
      [B, 56, 56, 2],
      -1,
      1,
      "float32",
      4,
    ) as tf.Tensor4D;
    const ws = [
      tf.randomUniform([3, 3, 2, 32], -0.3, 0.3, "float32", 5),
      tf.randomUniform([3, 3, 32, 32], -0.3, 0.3, "float32", 6),
      tf.randomUniform([3, 3, 32, 64], -0.3, 0.3, "float32", 7),
      tf.randomUniform([3, 3, 64, 64], -0.3, 0.3, "float32", 8),
    ] as tf.Tensor4D[];
    const step = () => {
      const g = tf.grads((...w: tf.Tensor[]) => {
        let h: tf.Tensor4D = tf.relu(
          tf.conv2d(x, w[0] as tf.Tensor4D, 2, "same"),
        );
        h = tf.relu(tf.conv2d(h, w[1] as tf.Tensor4D, 1, "same"));
        h = tf.relu(tf.conv2d(h, w[2] as tf.Tensor4D, 2, "same"));
        h = tf.relu(tf.conv2d(h, w[3] as tf.Tensor4D, 1, "same"));
        return tf.mean(tf.square(h));
      })(ws);
      tf.dispose(g);
    };
    const tOurs = time(step);
    tf.unregisterKernel("Conv2DBackpropInput", "wasm");
    tf.registerKernel(native);
    native.setupFunc?.(tf.backend());
    const tNative = time(step);
    tf.unregisterKernel("Conv2DBackpropInput", "wasm");
    tf.registerKernel(ours);
    console.log(
      `train step, 4-conv net, batch ${B} @56: provided ${
        tOurs.toFixed(1)
      } ms, native dX ${tNative.toFixed(1)} ms, native/provided ${
        (tNative / tOurs).toFixed(2)
      }`,
    );
    tf.dispose([x, ...ws]);
  }
}
