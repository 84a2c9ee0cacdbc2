/**
 * The fused selective scan as two TensorFlow.js kernels,
 * `MerbaSelectiveScan` (forward) and `MerbaSelectiveScanGrad` (backward,
 * returning the gradients of all seven inputs), with the gradient linking
 * them so that `tf.grads` and optimizers work through the op.
 *
 * On `cpu`, `wasm` and `tensorflow` (tfjs-node) the kernels run typed-array
 * loops on the backends' data (no tensor ops): the WebAssembly SIMD module
 * of `scan_wasm.ts` when available, else the JS loops of `scan_js.ts` (see
 * {@link scanImpl}); on `tensorflow` the inputs are copied out of
 * libtensorflow and the outputs handed back to it as new tensors. `webgpu`
 * gets WGSL programs (see `webgpu.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  scanBackward as scanBackwardJs,
  type ScanDims,
  scanForward as scanForwardJs,
} from "./scan_js.ts";
import {
  scanBackwardWasm,
  scanForwardWasm,
  wasmScanAvailable,
} from "./scan_wasm.ts";

/**
 * Which implementation the `cpu` and `wasm` kernels run: the WebAssembly
 * SIMD module when the runtime supports it (default), or the plain JS loops.
 */
export const scanImpl: { simd: boolean } = { simd: wasmScanAvailable() };

const scanForward: typeof scanForwardJs = (...args) =>
  scanImpl.simd ? scanForwardWasm(...args) : scanForwardJs(...args);
const scanBackward: typeof scanBackwardJs = (...args) =>
  scanImpl.simd ? scanBackwardWasm(...args) : scanBackwardJs(...args);

/** Kernel name of the fused forward selective scan. */
export const SELECTIVE_SCAN_KERNEL = "MerbaSelectiveScan";
/** Kernel name of the fused backward selective scan. */
export const SELECTIVE_SCAN_GRAD_KERNEL = "MerbaSelectiveScanGrad";

/** Input names of the forward kernel, in order. */
export const SCAN_INPUT_NAMES = [
  "u",
  "delta",
  "A",
  "B",
  "C",
  "D",
  "deltaBias",
] as const;

/** One of the forward kernel's input names. */
export type ScanInputName = typeof SCAN_INPUT_NAMES[number];

/** Attributes of both kernels. */
export interface ScanAttrs {
  /** apply softplus to delta + deltaBias. */
  deltaSoftplus: boolean;
}

/** Sizes of a scan from the shapes of its kernel inputs (u [B,L,D], A [D,N]). */
export function scanDimsOf(
  u: { shape: number[] },
  A: { shape: number[] },
): ScanDims {
  const [batch, length, dim] = u.shape;
  return { batch, length, dim, state: A.shape[1] };
}

// deno-lint-ignore no-explicit-any
type AnyBackend = any;

/**
 * Reads a kernel input from whichever backend holds it (tfjs-node's
 * `readSync` does not move data from another backend as cpu's does).
 */
const hostRead: Reader = (t) => tf.engine().readSync(t.dataId) as Float32Array;

/**
 * A float32 tensor holding `values`, made with the backend's `write` (the
 * cpu and tensorflow backends both have it; tfjs-node has no
 * `makeTensorInfo`).
 */
function hostTensor(
  backend: AnyBackend,
  shape: number[],
  values: Float32Array,
): tf.TensorInfo {
  return {
    dataId: backend.write(values, shape, "float32"),
    shape,
    dtype: "float32",
  };
}

/** Reads the named inputs of a kernel call as typed arrays. */
type Reader = (t: tf.TensorInfo) => Float32Array;

/**
 * The seven named scan inputs of a kernel call; throws naming a missing one.
 */
export function namedInputs(
  inputs: tf.NamedTensorInfoMap,
): Record<ScanInputName, tf.TensorInfo> {
  const out = {} as Record<ScanInputName, tf.TensorInfo>;
  for (const name of SCAN_INPUT_NAMES) {
    const t = inputs[name];
    if (t === undefined) {
      throw new Error(`${SELECTIVE_SCAN_KERNEL}: missing input '${name}'`);
    }
    out[name] = t;
  }
  return out;
}

/**
 * The scan inputs of a backward kernel call and the output gradient `dy`;
 * throws naming a missing one.
 */
export function namedGradInputs(
  inputs: tf.NamedTensorInfoMap,
): { x: Record<ScanInputName, tf.TensorInfo>; dy: tf.TensorInfo } {
  const x = namedInputs(inputs);
  const dy = inputs.dy;
  if (dy === undefined) {
    throw new Error(`${SELECTIVE_SCAN_GRAD_KERNEL}: missing input 'dy'`);
  }
  return { x, dy };
}

/** One value per scan input, in {@link SCAN_INPUT_NAMES} order. */
function byName<T>(
  f: (name: ScanInputName, index: number) => T,
): Record<ScanInputName, T> {
  return Object.fromEntries(
    SCAN_INPUT_NAMES.map((name, i) => [name, f(name, i)]),
  ) as Record<ScanInputName, T>;
}

function readArrays(
  x: Record<ScanInputName, tf.TensorInfo>,
  read: Reader,
): Record<ScanInputName, Float32Array> {
  return byName((name) => read(x[name]));
}

function cpuForward(
  { inputs, backend, attrs }: {
    inputs: tf.NamedTensorInfoMap;
    backend: AnyBackend;
    attrs?: tf.NamedAttrMap;
  },
): tf.TensorInfo {
  const x = namedInputs(inputs);
  const dims = scanDimsOf(x.u, x.A);
  const read: Reader = hostRead;
  const y = new Float32Array(dims.batch * dims.length * dims.dim);
  scanForward(readArrays(x, read), dims, Boolean(attrs?.deltaSoftplus), y);
  return hostTensor(backend, x.u.shape, y);
}

function cpuBackward(
  { inputs, backend, attrs }: {
    inputs: tf.NamedTensorInfoMap;
    backend: AnyBackend;
    attrs?: tf.NamedAttrMap;
  },
): tf.TensorInfo[] {
  const { x, dy } = namedGradInputs(inputs);
  const dims = scanDimsOf(x.u, x.A);
  const read: Reader = hostRead;
  const g = byName((name) =>
    new Float32Array(x[name].shape.reduce((p, q) => p * q, 1))
  );
  scanBackward(
    readArrays(x, read),
    read(dy),
    dims,
    Boolean(attrs?.deltaSoftplus),
    g,
  );
  return SCAN_INPUT_NAMES.map((name) =>
    hostTensor(backend, x[name].shape, g[name])
  );
}

// On wasm, outputs are allocated on the wasm heap first (allocation may grow
// the heap and detach older views), then every input and output is viewed in
// place with typedArrayFromHeap: no copies.
function wasmForward(
  { inputs, backend, attrs }: {
    inputs: tf.NamedTensorInfoMap;
    backend: AnyBackend;
    attrs?: tf.NamedAttrMap;
  },
): tf.TensorInfo {
  const x = namedInputs(inputs);
  const dims = scanDimsOf(x.u, x.A);
  const out = backend.makeOutput(x.u.shape, "float32");
  const read: Reader = (t) => backend.typedArrayFromHeap(t) as Float32Array;
  scanForward(
    readArrays(x, read),
    dims,
    Boolean(attrs?.deltaSoftplus),
    read(out),
  );
  return out;
}

function wasmBackward(
  { inputs, backend, attrs }: {
    inputs: tf.NamedTensorInfoMap;
    backend: AnyBackend;
    attrs?: tf.NamedAttrMap;
  },
): tf.TensorInfo[] {
  const { x, dy } = namedGradInputs(inputs);
  const dims = scanDimsOf(x.u, x.A);
  const outs = SCAN_INPUT_NAMES.map((name) =>
    backend.makeOutput(x[name].shape, "float32")
  );
  const read: Reader = (t) => backend.typedArrayFromHeap(t) as Float32Array;
  const g = byName((_, i) => read(outs[i]));
  scanBackward(
    readArrays(x, read),
    read(dy),
    dims,
    Boolean(attrs?.deltaSoftplus),
    g,
  );
  return outs;
}

/** The gradient of `MerbaSelectiveScan`: one call of `MerbaSelectiveScanGrad`. */
export const SCAN_GRADIENT: tf.GradConfig = {
  kernelName: SELECTIVE_SCAN_KERNEL,
  inputsToSave: [...SCAN_INPUT_NAMES],
  gradFunc: (dy, saved, attrs) => {
    const inputs: tf.NamedTensorMap = { dy: dy as tf.Tensor };
    SCAN_INPUT_NAMES.forEach((name, i) => inputs[name] = saved[i]);
    const grads = tf.engine().runKernel(
      SELECTIVE_SCAN_GRAD_KERNEL,
      inputs,
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
    const out: Record<string, () => tf.Tensor> = {};
    SCAN_INPUT_NAMES.forEach((name, i) => out[name] = () => grads[i]);
    return out;
  },
};

/**
 * The forward and backward kernels for `cpu`, `wasm` and `tensorflow`
 * (registered by `registerScanKernels` in `register.ts`).
 */
export const HOST_SCAN_KERNELS: readonly tf.KernelConfig[] = [
  {
    kernelName: SELECTIVE_SCAN_KERNEL,
    backendName: "cpu",
    kernelFunc: cpuForward as tf.KernelFunc,
  },
  {
    kernelName: SELECTIVE_SCAN_GRAD_KERNEL,
    backendName: "cpu",
    kernelFunc: cpuBackward as unknown as tf.KernelFunc,
  },
  {
    kernelName: SELECTIVE_SCAN_KERNEL,
    backendName: "tensorflow",
    kernelFunc: cpuForward as tf.KernelFunc,
  },
  {
    kernelName: SELECTIVE_SCAN_GRAD_KERNEL,
    backendName: "tensorflow",
    kernelFunc: cpuBackward as unknown as tf.KernelFunc,
  },
  {
    kernelName: SELECTIVE_SCAN_KERNEL,
    backendName: "wasm",
    kernelFunc: wasmForward as tf.KernelFunc,
  },
  {
    kernelName: SELECTIVE_SCAN_GRAD_KERNEL,
    backendName: "wasm",
    kernelFunc: wasmBackward as unknown as tf.KernelFunc,
  },
];
