/**
 * Kernels the models need that tfjs-node's `tensorflow` backend gets
 * wrong: its Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter reject a
 * numeric padding (`tf.conv2d(x, w, 2, 1)`, PyTorch's symmetric zero
 * padding, which the models use) with "TF Backend supports only 'valid'
 * and 'same' padding". libtensorflow's own ops take explicit paddings
 * (`padding: "EXPLICIT"`, `explicit_paddings`), so these wrappers pass the
 * padding through as such and leave 'valid' and 'same' to tfjs-node's
 * kernels. (The fused selective scan's kernels for this backend are
 * registered by `model/backend/ssm/register.ts`.)
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TensorInfo } from "./kernels/types.ts";
import { input, type KernelArgs } from "./kernels/kernel_scope.ts";

/** The parts of tfjs-node's backend these kernels use. */
interface NodeBackend {
  binding: {
    TF_ATTR_INT: number;
    TF_ATTR_STRING: number;
    TF_ATTR_BOOL: number;
    TF_ATTR_TYPE: number;
    TF_FLOAT: number;
  };
  executeSingleOutput(
    name: string,
    attrs: { name: string; type: number; value: unknown }[],
    inputs: TensorInfo[],
  ): TensorInfo;
  write(values: Int32Array, shape: number[], dtype: "int32"): object;
  disposeData(dataId: object): void;
}

/** Conv2D / Conv2DBackprop* with `padding: "EXPLICIT"` (NHWC). */
function explicitConv(
  backend: NodeBackend,
  op: string,
  info: tf.backend_util.Conv2DInfo,
  inputs: TensorInfo[],
): TensorInfo {
  const b = backend.binding;
  const p = info.padInfo;
  const attrs = [
    { name: "T", type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    {
      name: "strides",
      type: b.TF_ATTR_INT,
      value: [1, info.strideHeight, info.strideWidth, 1],
    },
    { name: "padding", type: b.TF_ATTR_STRING, value: "EXPLICIT" },
    {
      name: "explicit_paddings",
      type: b.TF_ATTR_INT,
      value: [0, 0, p.top, p.bottom, p.left, p.right, 0, 0],
    },
    { name: "data_format", type: b.TF_ATTR_STRING, value: "NHWC" },
    { name: "use_cudnn_on_gpu", type: b.TF_ATTR_BOOL, value: true },
    {
      name: "dilations",
      type: b.TF_ATTR_INT,
      value: [1, info.dilationHeight, info.dilationWidth, 1],
    },
  ];
  return backend.executeSingleOutput(op, attrs, inputs);
}

/** Whether a `pad` attribute is one tfjs-node's kernels handle. */
function nativePad(pad: unknown): boolean {
  return pad === "valid" || pad === "same";
}

/**
 * One of the three conv kernels: its two tensor inputs, the shapes of the
 * convolution's input and filter, and the op's argument list (the two
 * backprops take the size of what they compute as an int32 tensor).
 */
interface ConvForm {
  inputs: [string, string];
  geometry(
    a: TensorInfo,
    b: TensorInfo,
    attrs: KernelArgs["attrs"],
  ): { xShape: number[]; filterShape: number[] };
  sizes?(info: tf.backend_util.Conv2DInfo): number[];
  order(a: TensorInfo, b: TensorInfo, sizes?: TensorInfo): TensorInfo[];
}

const FORMS: Record<string, ConvForm> = {
  Conv2D: {
    inputs: ["x", "filter"],
    geometry: (x, filter) => ({ xShape: x.shape, filterShape: filter.shape }),
    order: (x, filter) => [x, filter],
  },
  Conv2DBackpropInput: {
    inputs: ["dy", "filter"],
    geometry: (_dy, filter, attrs) => ({
      xShape: attrs.inputShape as number[],
      filterShape: filter.shape,
    }),
    sizes: (info) => info.inShape,
    order: (dy, filter, sizes) => [sizes!, filter, dy],
  },
  Conv2DBackpropFilter: {
    inputs: ["x", "dy"],
    geometry: (x, _dy, attrs) => ({
      xShape: x.shape,
      filterShape: attrs.filterShape as number[],
    }),
    sizes: (info) => info.filterShape,
    order: (x, dy, sizes) => [x, sizes!, dy],
  },
};

/** The kernel for `op` with a numeric or explicit padding (NHWC). */
function explicitKernel(op: string, form: ConvForm) {
  return (args: KernelArgs): TensorInfo => {
    const a = input(args, form.inputs[0], op);
    const b = input(args, form.inputs[1], op);
    const { strides, pad, dataFormat, dilations, dimRoundingMode } = args.attrs;
    if (dataFormat !== undefined && dataFormat !== "NHWC") {
      throw new Error(
        `${op}: data format ${dataFormat} with a numeric or explicit padding is not supported on the tensorflow backend (NHWC only)`,
      );
    }
    const { xShape, filterShape } = form.geometry(a, b, args.attrs);
    const info = tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number],
      filterShape as [number, number, number, number],
      strides as [number, number],
      (dilations ?? 1) as [number, number],
      pad as "same",
      dimRoundingMode as "floor" | undefined,
    );
    const backend = args.backend as unknown as NodeBackend;
    if (!form.sizes) return explicitConv(backend, op, info, form.order(a, b));
    const sizes = form.sizes(info);
    const dataId = backend.write(
      Int32Array.from(sizes),
      [sizes.length],
      "int32",
    );
    try {
      const s: TensorInfo = { dataId, shape: [sizes.length], dtype: "int32" };
      return explicitConv(backend, op, info, form.order(a, b, s));
    } finally {
      backend.disposeData(dataId);
    }
  };
}

const wrappers = new Set<tf.KernelFunc>();

/**
 * Puts the explicit-padding kernels in front of tfjs-node's Conv2D,
 * Conv2DBackpropInput and Conv2DBackpropFilter (which still serve 'valid'
 * and 'same'). Call after tfjs-node registered its kernels; idempotent.
 *
 * @returns the kernel names now wrapped.
 */
export function registerTensorflowKernels(): string[] {
  const done: string[] = [];
  for (const [name, form] of Object.entries(FORMS)) {
    const provided = explicitKernel(name, form);
    const native = tf.getKernel(name, "tensorflow");
    if (!native) continue; // tfjs-node not loaded yet
    if (wrappers.has(native.kernelFunc)) {
      done.push(name);
      continue;
    }
    const kernelFunc = ((args: KernelArgs) =>
      nativePad(args.attrs.pad)
        ? native.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0])
        : provided(args)) as unknown as tf.KernelFunc;
    wrappers.add(kernelFunc);
    tf.unregisterKernel(name, "tensorflow");
    tf.registerKernel({ ...native, kernelFunc });
    done.push(name);
  }
  return done;
}
