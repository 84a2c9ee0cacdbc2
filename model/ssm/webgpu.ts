/**
 * `MerbaSelectiveScan` and `MerbaSelectiveScanGrad` for the `webgpu`
 * backend: WGSL programs (see `scan_wgsl.ts`) run through the backend's
 * `runWebGPUProgram`. Registering them does not import (or activate) the
 * webgpu backend; they are used once the application sets it.
 *
 * The backward kernel runs one program writing a packed buffer of
 * `B·L·D·(2N+2) + B·D·(N+2)` floats (states, then per-channel partial
 * gradients) and seven strided-sum programs reducing it to the seven
 * gradients in a fixed order (deterministic, no atomics).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  namedInputs,
  SCAN_INPUT_NAMES,
  scanDimsOf,
  type ScanInputName,
  SELECTIVE_SCAN_GRAD_KERNEL,
  SELECTIVE_SCAN_KERNEL,
} from "./kernels.ts";
import {
  backwardWgsl,
  forwardWgsl,
  gradLayout,
  packParamsWgsl,
  SCAN_WORKGROUP,
  stridedSumWgsl,
} from "./scan_wgsl.ts";

/** Largest buffer (bytes) Debian's software Vulkan handles correctly. */
export const WEBGPU_MAX_BUFFER_BYTES = 128 * 1024 * 1024;

/** WGSL variable name of each kernel input. */
const WGSL_NAMES: Record<ScanInputName | "dy", string> = {
  u: "xu",
  delta: "xdelta",
  A: "xa",
  B: "xb",
  C: "xc",
  D: "xd",
  deltaBias: "xbias",
  dy: "xdy",
};

/** The subset of the WebGPU program interface the scan programs fill in. */
interface ScanProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  getUserCode: () => string;
}

function program(
  key: string,
  variableNames: string[],
  outputShape: number[],
  threads: number,
  code: string,
): ScanProgram {
  return {
    variableNames,
    outputShape,
    shaderKey: key,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(threads / SCAN_WORKGROUP), 1, 1],
    workgroupSize: [SCAN_WORKGROUP, 1, 1],
    getUserCode: () => code,
  };
}

// deno-lint-ignore no-explicit-any
type WebGPUBackendLike = any;

function checkSize(floats: number, what: string): void {
  if (floats * 4 > WEBGPU_MAX_BUFFER_BYTES) {
    throw new Error(
      `${what}: a ${(floats * 4 / 2 ** 20).toFixed(0)} MiB buffer exceeds the ${
        WEBGPU_MAX_BUFFER_BYTES / 2 ** 20
      } MiB the webgpu backend handles reliably; use a smaller batch`,
    );
  }
}

function webgpuForward(
  { inputs, backend, attrs }: {
    inputs: tf.NamedTensorInfoMap;
    backend: WebGPUBackendLike;
    attrs?: tf.NamedAttrMap;
  },
): tf.TensorInfo {
  const named = namedInputs(inputs);
  const ins = SCAN_INPUT_NAMES.map((n) => named[n]);
  const dims = scanDimsOf(ins[0], ins[2]);
  const softplus = Boolean(attrs?.deltaSoftplus);
  const key =
    `merbaScanFwd_${dims.batch}_${dims.length}_${dims.dim}_${dims.state}_${softplus}`;
  const prog = program(
    key,
    SCAN_INPUT_NAMES.map((n) => WGSL_NAMES[n]),
    ins[0].shape,
    dims.batch * dims.dim,
    forwardWgsl(dims, softplus),
  );
  return backend.runWebGPUProgram(prog, ins, "float32");
}

function webgpuBackward(
  { inputs, backend, attrs }: {
    inputs: tf.NamedTensorInfoMap;
    backend: WebGPUBackendLike;
    attrs?: tf.NamedAttrMap;
  },
): tf.TensorInfo[] {
  const named = namedInputs(inputs);
  if (inputs.dy === undefined) {
    throw new Error(`${SELECTIVE_SCAN_GRAD_KERNEL}: missing input 'dy'`);
  }
  const dims = scanDimsOf(named.u, named.A);
  const softplus = Boolean(attrs?.deltaSoftplus);
  const o = gradLayout(dims);
  checkSize(o.size, SELECTIVE_SCAN_GRAD_KERNEL);
  const tag = `${dims.batch}_${dims.length}_${dims.dim}_${dims.state}`;
  const paramSize = dims.dim * dims.state + 2 * dims.dim;
  const pack = program(
    `merbaScanPack_${tag}`,
    ["xa", "xd", "xbias"],
    [paramSize],
    paramSize,
    packParamsWgsl(dims),
  );
  const params: tf.TensorInfo = backend.runWebGPUProgram(
    pack,
    [named.A, named.D, named.deltaBias],
    "float32",
  );
  const main = program(
    `merbaScanBwd_${tag}_${softplus}`,
    ["xu", "xdelta", "xparams", "xb", "xc", "xdy"],
    [o.size],
    dims.batch * dims.dim,
    backwardWgsl(dims, softplus),
  );
  const packed: tf.TensorInfo = backend.runWebGPUProgram(
    main,
    [named.u, named.delta, params, named.B, named.C, inputs.dy],
    "float32",
  );
  backend.disposeData(params.dataId);
  const { batch, length, dim, state } = dims;
  const reduce = (
    name: string,
    shape: number[],
    offset: number,
    count: number,
    inner: number,
  ): tf.TensorInfo => {
    const size = shape.reduce((p, q) => p * q, 1);
    const prog = program(
      `merbaScanSum_${name}_${tag}`,
      ["src"],
      shape,
      size,
      stridedSumWgsl(offset, count, inner, size),
    );
    return backend.runWebGPUProgram(prog, [packed], "float32");
  };
  const outs = [
    reduce("u", [batch, length, dim], o.gu, 1, 1),
    reduce("delta", [batch, length, dim], o.gdelta, 1, 1),
    reduce("A", [dim, state], o.ga, batch, dim * state),
    reduce("B", [batch, length, state], o.gb, dim, state),
    reduce("C", [batch, length, state], o.hc, dim, state),
    reduce("D", [dim], o.gd, batch, dim),
    reduce("deltaBias", [dim], o.gbias, batch, dim),
  ];
  backend.disposeData(packed.dataId);
  return outs;
}

/**
 * Registers the forward and backward scan kernels for backend `webgpu`;
 * idempotent. Called when `model/selective_scan.ts` is imported.
 */
export function registerScanWebGPUKernels(): void {
  if (tf.getKernel(SELECTIVE_SCAN_KERNEL, "webgpu") === undefined) {
    tf.registerKernel({
      kernelName: SELECTIVE_SCAN_KERNEL,
      backendName: "webgpu",
      kernelFunc: webgpuForward as tf.KernelFunc,
    });
  }
  if (tf.getKernel(SELECTIVE_SCAN_GRAD_KERNEL, "webgpu") === undefined) {
    tf.registerKernel({
      kernelName: SELECTIVE_SCAN_GRAD_KERNEL,
      backendName: "webgpu",
      kernelFunc: webgpuBackward as unknown as tf.KernelFunc,
    });
  }
}
