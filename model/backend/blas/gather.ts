/**
 * GatherV2 as row copies, for the wasm and cpu backends. The models gather
 * along one axis of a large tensor with a short index list (scan-order
 * permutations: [16, 49, 128] by 49 indices), so every index selects a
 * contiguous block of `inner` values that is copied with one
 * `TypedArray.set`. The wasm backend's own kernel computes coordinates per
 * element and was the most expensive kernel of a MERba training step once
 * the matmuls ran on BLAS (profiled by `deno task bench:cpu`; see
 * scripts/bench/README). Copies are exact, so the result is bit-identical
 * to the kernel it replaces.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { BlasKernelFunc, TensorInfo } from "./kernels.ts";

type Values = Float32Array | Int32Array | Uint8Array;

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Values;
}

interface CpuLike {
  data: { get(id: tf.DataId): { values?: unknown } };
  makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values: Values,
  ): TensorInfo;
}

const COPYABLE = new Set(["float32", "int32", "bool"]);

/**
 * GatherV2 (`batchDims` 0): `out[o, j, i] = x[o, indices[j], i]` over the
 * flattened outer, index and inner dimensions.
 *
 * @param fallback the kernel used for calls it does not cover (`batchDims`
 *   ≠ 0, other dtypes, other backends).
 * @returns the kernel function.
 * @throws Error naming the index when one is outside `0..x.shape[axis]-1`.
 */
export function copyGatherV2(fallback: BlasKernelFunc): BlasKernelFunc {
  return (args) => {
    const { x, indices } = args.inputs;
    if (!x || !indices) {
      throw new Error("GatherV2: inputs x and indices are required");
    }
    const batchDims = (args.attrs.batchDims as number | undefined) ?? 0;
    if (
      batchDims !== 0 || !COPYABLE.has(x.dtype) || indices.dtype !== "int32" ||
      x.shape.length === 0
    ) {
      return fallback(args);
    }
    const rank = x.shape.length;
    const axis0 = (args.attrs.axis as number | undefined) ?? 0;
    const axis = axis0 < 0 ? axis0 + rank : axis0;
    if (!Number.isInteger(axis) || axis < 0 || axis >= rank) {
      return fallback(args);
    }
    const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const n = x.shape[axis];
    const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const shape = [
      ...x.shape.slice(0, axis),
      ...indices.shape,
      ...x.shape.slice(axis + 1),
    ];
    const copy = (xv: Values, idx: Int32Array, out: Values) => {
      const m = idx.length;
      for (let j = 0; j < m; j++) {
        if (idx[j] < 0 || idx[j] >= n) {
          throw new Error(
            `GatherV2: indices[${j}] = ${idx[j]} is not in [0, ${
              n - 1
            }] (axis ${axis} of shape [${x.shape}])`,
          );
        }
      }
      for (let o = 0; o < outer; o++) {
        const src = o * n, dst = o * m;
        for (let j = 0; j < m; j++) {
          const s = (src + idx[j]) * inner, d = (dst + j) * inner;
          if (inner < 8) {
            for (let i = 0; i < inner; i++) out[d + i] = xv[s + i];
          } else out.set(xv.subarray(s, s + inner), d);
        }
      }
    };
    const backend = args.backend;
    const w = backend as unknown as Partial<WasmLike>;
    if (typeof w.makeOutput === "function" && w.typedArrayFromHeap) {
      const out = w.makeOutput(shape, x.dtype);
      copy(
        w.typedArrayFromHeap(x),
        w.typedArrayFromHeap(indices) as Int32Array,
        w.typedArrayFromHeap(out),
      );
      return out;
    }
    const c = backend as unknown as Partial<CpuLike>;
    if (typeof c.makeTensorInfo !== "function" || !c.data) {
      return fallback(args);
    }
    const xv = c.data.get(x.dataId).values;
    const iv = c.data.get(indices.dataId).values;
    if (
      !(xv instanceof Float32Array || xv instanceof Int32Array ||
        xv instanceof Uint8Array) || !(iv instanceof Int32Array)
    ) {
      return fallback(args);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    const out = new (xv.constructor as new (n: number) => Values)(size);
    copy(xv, iv, out);
    return c.makeTensorInfo(shape, x.dtype, out);
  };
}
