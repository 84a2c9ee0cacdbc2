import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../runtime.ts";
import { nativeKernelConfig } from "./register.ts";
import {
  conv2DBackpropFilterIm2col,
  conv2DBackpropInputDilated,
  depthwiseBackpropFilterViaConv,
} from "./conv_backprop.ts";
import { depthwiseBackpropFilterWasm } from "./wasm_js_kernels.ts";
import { maxScaledError, onBackend, seededValues } from "./testing.ts";

await initBackend("cpu");
await initBackend("wasm");

type Pad = "same" | "valid" | number | [
  [number, number],
  [number, number],
  [number, number],
  [number, number],
];

interface Case {
  x: [number, number, number, number];
  k: [number, number];
  cout: number;
  strides: [number, number];
  pad: Pad;
  dilations?: [number, number];
}

const CONV_CASES: Case[] = [
  { x: [2, 8, 8, 3], k: [3, 3], cout: 4, strides: [1, 1], pad: "same" },
  { x: [2, 9, 7, 3], k: [3, 3], cout: 5, strides: [2, 2], pad: "same" },
  { x: [2, 8, 8, 4], k: [3, 3], cout: 4, strides: [2, 2], pad: "same" },
  { x: [1, 10, 9, 2], k: [3, 3], cout: 3, strides: [2, 2], pad: "valid" },
  {
    x: [2, 8, 8, 2],
    k: [3, 3],
    cout: 3,
    strides: [2, 2],
    pad: [[0, 0], [1, 1], [1, 1], [0, 0]],
  },
  {
    x: [2, 7, 8, 2],
    k: [2, 3],
    cout: 3,
    strides: [1, 2],
    pad: [[0, 0], [0, 2], [3, 0], [0, 0]],
  },
  { x: [1, 6, 6, 3], k: [1, 1], cout: 2, strides: [1, 1], pad: "valid" },
  { x: [2, 7, 7, 3], k: [1, 1], cout: 2, strides: [2, 2], pad: "valid" },
  { x: [1, 9, 10, 2], k: [4, 4], cout: 3, strides: [2, 2], pad: "same" },
  { x: [1, 10, 10, 2], k: [3, 3], cout: 3, strides: [3, 3], pad: "same" },
];

/** Gradients of sum(conv(x, w) * r) wrt x and w on the active backend. */
async function convGrads(
  c: Case,
  depthwise: boolean,
  mult = 1,
): Promise<Float32Array[]> {
  const cin = c.x[3];
  const wShape = depthwise
    ? [c.k[0], c.k[1], cin, mult]
    : [c.k[0], c.k[1], cin, c.cout];
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const x = tf.tensor4d(seededValues(size(c.x), 1), c.x);
  const w = tf.tensor4d(
    seededValues(size(wShape), 2),
    wShape as [number, number, number, number],
  );
  const conv = (xi: tf.Tensor4D, wi: tf.Tensor4D) =>
    depthwise
      ? tf.depthwiseConv2d(
        xi,
        wi,
        c.strides,
        c.pad as "same",
        "NHWC",
        c.dilations,
      )
      : tf.conv2d(xi, wi, c.strides, c.pad as "same", "NHWC", c.dilations);
  const y0 = conv(x, w);
  const yShape = y0.shape;
  y0.dispose();
  const r = tf.tensor(seededValues(size(yShape), 3), yShape);
  const [gx, gw] = tf.grads((xi: tf.Tensor, wi: tf.Tensor) =>
    tf.sum(tf.mul(conv(xi as tf.Tensor4D, wi as tf.Tensor4D), r))
  )([x, w]);
  const out = [
    await gx.data() as Float32Array,
    await gw.data() as Float32Array,
  ];
  tf.dispose([x, w, r, gx, gw]);
  return out;
}

function describe(c: Case): string {
  return `x[${c.x}] k${c.k.join("x")} s${c.strides.join(",")} pad ${
    JSON.stringify(c.pad)
  }${c.dilations ? ` d${c.dilations}` : ""}`;
}

function check(got: Float32Array[], want: Float32Array[], label: string): void {
  for (const [i, name] of ["dx", "dw"].entries()) {
    const e = maxScaledError(got[i], want[i]);
    if (!(e <= 1e-5)) {
      throw new Error(`${label} ${name}: max rel error ${e} > 1e-5`);
    }
  }
}

Deno.test("wasm conv2d input and weight gradients match the cpu backend within 1e-5", async () => {
  for (const c of CONV_CASES) {
    const want = await onBackend("cpu", () => convGrads(c, false));
    const got = await onBackend("wasm", () => convGrads(c, false));
    check(got, want, `conv2d ${describe(c)}`);
  }
});

Deno.test("wasm depthwise conv input and weight gradients match the cpu backend within 1e-5", async () => {
  for (const c of CONV_CASES) {
    for (const mult of [1, 2]) {
      const want = await onBackend("cpu", () => convGrads(c, true, mult));
      const got = await onBackend("wasm", () => convGrads(c, true, mult));
      check(got, want, `depthwise(m=${mult}) ${describe(c)}`);
    }
  }
});

Deno.test("the provided wasm conv input gradient agrees with wasm's native kernel", async () => {
  const native = nativeKernelConfig("Conv2DBackpropInput", "wasm");
  if (!native) throw new Error("the native Conv2DBackpropInput was not kept");
  await onBackend("wasm", async () => {
    const backend = tf.backend();
    native.setupFunc?.(backend);
    for (const c of CONV_CASES.filter((c) => !c.dilations)) {
      const wShape = [c.k[0], c.k[1], c.x[3], c.cout] as [
        number,
        number,
        number,
        number,
      ];
      const y = tf.conv2d(
        tf.zeros(c.x) as tf.Tensor4D,
        tf.zeros(wShape),
        c.strides,
        c.pad as "same",
      );
      const dy = tf.tensor(seededValues(y.size, 5), y.shape);
      const w = tf.tensor(
        seededValues(wShape.reduce((a, b) => a * b), 6),
        wShape,
      );
      const attrs = {
        strides: c.strides,
        pad: c.pad,
        dataFormat: "NHWC",
        inputShape: c.x,
      };
      const ours = tf.engine().runKernel("Conv2DBackpropInput", {
        dy,
        filter: w,
      }, attrs) as tf.Tensor;
      const info = native.kernelFunc({
        inputs: { dy, filter: w },
        backend,
        attrs,
      }) as tf.TensorInfo;
      const theirs = tf.engine().makeTensorFromTensorInfo(info);
      const e = maxScaledError(
        await ours.data() as Float32Array,
        await theirs.data() as Float32Array,
      );
      if (!(e <= 1e-5)) throw new Error(`${describe(c)}: max rel error ${e}`);
      tf.dispose([y, dy, w, ours, theirs]);
    }
  });
});

Deno.test("wasm conv gradient kernels release their intermediates", async () => {
  await onBackend("wasm", async () => {
    const buffers = () =>
      (tf.backend() as unknown as { dataIdMap: { numDataIds(): number } })
        .dataIdMap.numDataIds();
    const c = CONV_CASES[1];
    await convGrads(c, false);
    await convGrads(c, true, 2);
    const tensors = tf.memory().numTensors, ids = buffers();
    await convGrads(c, false);
    await convGrads(c, true, 2);
    if (tf.memory().numTensors !== tensors || buffers() !== ids) {
      throw new Error(
        `leak: tensors ${tensors} → ${tf.memory().numTensors}, wasm buffers ${ids} → ${buffers()}`,
      );
    }
  });
});

Deno.test("the provided conv gradient kernels reject dilation > 1 and NCHW by name", async () => {
  await onBackend("wasm", () => {
    const dy = tf.zeros([1, 4, 4, 2]);
    const x = tf.zeros([1, 4, 4, 2]);
    const expect = (f: () => unknown, pattern: RegExp) => {
      try {
        f();
      } catch (e) {
        if (pattern.test((e as Error).message)) return;
        throw new Error(
          `message "${(e as Error).message}" does not match ${pattern}`,
        );
      }
      throw new Error(`expected an error matching ${pattern}`);
    };
    const base = { strides: [1, 1], pad: "same", filterShape: [3, 3, 2, 2] };
    expect(
      () =>
        tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
          ...base,
          dataFormat: "NCHW",
        }),
      /Conv2DBackpropFilter: dataFormat "NCHW"/,
    );
    expect(
      () =>
        tf.engine().runKernel(
          "DepthwiseConv2dNativeBackpropFilter",
          { x, dy },
          {
            ...base,
            filterShape: [3, 3, 2, 1],
            dilations: [2, 2],
          },
        ),
      /DepthwiseConv2dNativeBackpropFilter: dilations \[2,2\]/,
    );
    tf.dispose([dy, x]);
  });
});

Deno.test("unregistered alternatives (depthwise dW as a conv, conv dW by im2col, dX over dilated dy) agree with the registered kernels", async () => {
  await onBackend("wasm", async () => {
    const backend = tf.backend();
    const asTensor = (i: tf.TensorInfo) =>
      tf.engine().makeTensorFromTensorInfo(i);
    for (const c of CONV_CASES) {
      const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const x = tf.tensor4d(seededValues(size(c.x), 21), c.x);
      for (const depthwise of [false, true]) {
        const wShape: [number, number, number, number] = depthwise
          ? [c.k[0], c.k[1], c.x[3], 2]
          : [c.k[0], c.k[1], c.x[3], c.cout];
        const w = tf.tensor4d(seededValues(size(wShape), 22), wShape);
        const y = depthwise
          ? tf.depthwiseConv2d(x, w, c.strides, c.pad as "same")
          : tf.conv2d(x, w, c.strides, c.pad as "same");
        const dy = tf.tensor(seededValues(y.size, 23), y.shape);
        const base = {
          strides: c.strides,
          pad: c.pad,
          dataFormat: "NHWC",
          dilations: [1, 1],
        };
        const pairs: [tf.Tensor, tf.Tensor, string][] = [];
        if (depthwise) {
          const attrs = {
            ...base,
            filterShape: wShape,
          } as unknown as tf.NamedAttrMap;
          pairs.push([
            asTensor(
              depthwiseBackpropFilterViaConv({
                inputs: { x, dy },
                backend,
                attrs,
              }),
            ),
            asTensor(
              depthwiseBackpropFilterWasm({
                inputs: { x, dy },
                backend,
                attrs,
              }),
            ),
            "depthwise dW conv vs loop",
          ]);
        } else {
          const attrs = {
            ...base,
            inputShape: c.x,
          } as unknown as tf.NamedAttrMap;
          const fAttrs = {
            ...base,
            filterShape: wShape,
          } as unknown as tf.NamedAttrMap;
          pairs.push([
            asTensor(
              conv2DBackpropFilterIm2col({
                inputs: { x, dy },
                backend,
                attrs: fAttrs,
              }),
            ),
            tf.engine().runKernel(
              "Conv2DBackpropFilter",
              { x, dy },
              fAttrs,
            ) as tf.Tensor,
            "conv dW im2col vs registered",
          ]);
          pairs.push([
            asTensor(
              conv2DBackpropInputDilated({
                inputs: { dy, filter: w },
                backend,
                attrs,
              }),
            ),
            tf.engine().runKernel(
              "Conv2DBackpropInput",
              { dy, filter: w },
              attrs,
            ) as tf.Tensor,
            "conv dX dilated vs registered",
          ]);
        }
        for (const [a, b, label] of pairs) {
          const e = maxScaledError(
            await a.data() as Float32Array,
            await b.data() as Float32Array,
          );
          if (!(e <= 1e-5)) {
            throw new Error(`${label} ${describe(c)}: error ${e}`);
          }
          tf.dispose([a, b]);
        }
        tf.dispose([w, y, dy]);
      }
      x.dispose();
    }
  });
});
