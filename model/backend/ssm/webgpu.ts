/**
 * `MerbaSelectiveScan` and `MerbaSelectiveScanGrad` for the `webgpu`
 * backend: WGSL programs (see `scan_wgsl.ts`) run through the backend's
 * `runWebGPUProgram`. Registering them does not import (or activate) the
 * webgpu backend; they are used once it is active.
 *
 * The backward kernel processes the batch in chunks of `Bc` rows (so that
 * its scratch stays under `webgpuScanOptions.chunkBytes`); per chunk one program
 * writes a packed buffer of `Bc·L·D·(2N+2) + Bc·D·(N+2)` floats (states, then
 * per-channel partial gradients) and seven strided-sum programs reduce it
 * into the seven gradients, in a fixed order (deterministic, no atomics).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import {
  namedGradInputs,
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

/**
 * `chunkBytes`: the most bytes of the backward kernel's packed scratch
 * buffer per batch chunk (default 64 MiB); the batch is processed in chunks
 * of rows that fit. Tests lower it to exercise chunking.
 */
export const webgpuScanOptions: { chunkBytes: number } = {
  chunkBytes: 64 * 1024 * 1024,
};

/** WGSL variable name of each kernel input. */
const WGSL_NAMES: Record<ScanInputName, string> = {
  u: "xu",
  delta: "xdelta",
  A: "xa",
  B: "xb",
  C: "xc",
  D: "xd",
  deltaBias: "xbias",
};

/** The subset of the WebGPU program interface the scan programs fill in. */
interface ScanProgram {
  uniforms?: string;
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
      `${what}: needs a ${
        (floats * 4 / 2 ** 20).toFixed(0)
      } MiB buffer, over the ${
        WEBGPU_MAX_BUFFER_BYTES / 2 ** 20
      } MiB the webgpu backend handles reliably (Debian's software Vulkan computes wrong results past it)`,
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
  checkSize(dims.batch * dims.length * dims.dim, SELECTIVE_SCAN_KERNEL);
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
  const { x: named, dy } = namedGradInputs(inputs);
  const dims = scanDimsOf(named.u, named.A);
  const { batch, length, dim, state } = dims;
  const softplus = Boolean(attrs?.deltaSoftplus);
  const rowFloats = gradLayout({ ...dims, batch: 1 }).size;
  checkSize(rowFloats, SELECTIVE_SCAN_GRAD_KERNEL);
  const chunk = Math.max(
    1,
    Math.min(batch, Math.floor(webgpuScanOptions.chunkBytes / 4 / rowFloats)),
  );
  const shape = `${length}_${dim}_${state}`;
  const paramSize = dim * state + 2 * dim;
  const params: tf.TensorInfo = backend.runWebGPUProgram(
    program(
      `merbaScanPack_${shape}`,
      ["xa", "xd", "xbias"],
      [paramSize],
      paramSize,
      packParamsWgsl(dims),
    ),
    [named.A, named.D, named.deltaBias],
    "float32",
  );
  const outs: tf.TensorInfo[] = SCAN_INPUT_NAMES.map((n) =>
    backend.makeTensorInfo(named[n].shape, "float32")
  );
  for (let b0 = 0; b0 < batch; b0 += chunk) {
    const nb = Math.min(chunk, batch - b0);
    const cd = { ...dims, batch: nb };
    const o = gradLayout(cd);
    const main = program(
      `merbaScanBwd_${nb}_${shape}_${softplus}`,
      ["xu", "xdelta", "xparams", "xb", "xc", "xdy"],
      [o.size],
      nb * dim,
      backwardWgsl(cd, softplus),
    );
    main.uniforms = "b0 : i32,";
    const packed: tf.TensorInfo = backend.runWebGPUProgram(
      main,
      [named.u, named.delta, params, named.B, named.C, dy],
      "float32",
      [{ type: "int32", data: [b0] }],
    );
    // (output, region offset, summed count, inner size, rows per batch row
    // written at b0 · rows, or 0 when summed over the batch)
    const plan: [number, number, number, number, number][] = [
      [0, o.gu, 1, 1, length * dim],
      [1, o.gdelta, 1, 1, length * dim],
      [2, o.ga, nb, dim * state, 0],
      [3, o.gb, dim, state, length * state],
      [4, o.hc, dim, state, length * state],
      [5, o.gd, nb, dim, 0],
      [6, o.gbias, nb, dim, 0],
    ];
    for (const [i, offset, count, inner, perRow] of plan) {
      const size = perRow > 0 ? nb * perRow : inner;
      const prog = program(
        `merbaScanSum_${offset}_${count}_${inner}_${size}`,
        ["src"],
        [size],
        size,
        stridedSumWgsl(offset, count, inner, size),
      );
      prog.uniforms = "outOffset : i32, accumulate : i32,";
      const outOffset = perRow > 0 ? b0 * perRow : 0;
      const accumulate = perRow === 0 && b0 > 0 ? 1 : 0;
      backend.runWebGPUProgram(prog, [packed], "float32", [
        { type: "int32", data: [outOffset] },
        { type: "int32", data: [accumulate] },
      ], outs[i]);
    }
    backend.disposeData(packed.dataId);
  }
  backend.disposeData(params.dataId);
  return outs;
}

/**
 * The forward and backward kernels for `webgpu` (registered by
 * `registerScanKernels` in `register.ts`).
 */
export const WEBGPU_SCAN_KERNELS: readonly tf.KernelConfig[] = [
  {
    kernelName: SELECTIVE_SCAN_KERNEL,
    backendName: "webgpu",
    kernelFunc: webgpuForward as tf.KernelFunc,
  },
  {
    kernelName: SELECTIVE_SCAN_GRAD_KERNEL,
    backendName: "webgpu",
    kernelFunc: webgpuBackward as unknown as tf.KernelFunc,
  },
];
