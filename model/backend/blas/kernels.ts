/**
 * TensorFlow.js kernels computed with a system sgemm ({@link Blas}):
 * BatchMatMul, Conv2D (im2col + sgemm), Conv2DBackpropFilter (im2col +
 * sgemm with Aᵀ) and Conv2DBackpropInput (sgemm with Bᵀ + col2im), for the
 * wasm backend (tensors are read and written in place in the module's
 * heap) and the cpu backend (its `Float32Array` values).
 *
 * Every kernel hands the call to a fallback (the kernel it replaced) for
 * what it does not cover: non-float32 tensors, NCHW data, batch dimensions
 * that neither match nor broadcast from 1, and products too small to gain
 * from BLAS ({@link BlasKernelOptions.minFlops}). Gradients need nothing
 * extra: TensorFlow.js' gradient of BatchMatMul is BatchMatMul, and Conv2D's
 * are the two backprop kernels, all looked up by name at call time.
 *
 * Summation order is fixed by the shapes and the (fixed) chunk sizes, so a
 * kernel gives the same bits on every call with the same inputs.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Blas } from "./ffi.ts";

/** A tensor as kernels see it (shape, dtype, data id). */
export type TensorInfo = tf.TensorInfo;
/** A backend instance (cpu, wasm, …) as passed to kernels. */
export type KernelBackend = tf.KernelBackend;
/** Named kernel inputs. */
export type NamedTensorInfoMap = tf.NamedTensorInfoMap;
/** Kernel attributes. */
export type NamedAttrMap = tf.NamedAttrMap;

/** The argument TensorFlow.js passes to a kernel function. */
export interface BlasKernelArgs {
  /** named inputs. */
  inputs: NamedTensorInfoMap;
  /** the backend instance running the kernel. */
  backend: KernelBackend;
  /** kernel attributes. */
  attrs: NamedAttrMap;
}

/** A kernel function as registered with TensorFlow.js. */
export type BlasKernelFunc = (args: BlasKernelArgs) => TensorInfo;

/** Tuning of the BLAS kernels. */
export interface BlasKernelOptions {
  /**
   * Products with fewer multiply-adds than this (per call, all batches)
   * go to the fallback kernel, where the FFI call costs more than it saves.
   */
  minFlops: number;
  /** largest im2col buffer, in floats; bigger batches are done in chunks. */
  maxColsFloats: number;
}

/** Default {@link BlasKernelOptions}. */
export const DEFAULT_BLAS_KERNEL_OPTIONS: Readonly<BlasKernelOptions> = {
  minFlops: 4096,
  maxColsFloats: 1 << 22,
};

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

interface CpuLike {
  data: { get(id: tf.DataId): { values?: unknown } };
  makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values: Float32Array,
  ): TensorInfo;
}

/**
 * Runs `body` over float32 views of `inputs` and a zero-filled output of
 * `shape`, in the backend's own memory (wasm heap, cpu values). The output
 * is allocated before the input views are taken (a wasm heap growth would
 * detach them).
 */
function compute(
  backend: tf.KernelBackend,
  shape: number[],
  inputs: TensorInfo[],
  body: (out: Float32Array, ins: Float32Array[]) => void,
): TensorInfo {
  const w = backend as unknown as Partial<WasmLike>;
  if (typeof w.makeOutput === "function" && w.typedArrayFromHeap) {
    const out = w.makeOutput(shape, "float32");
    const ov = w.typedArrayFromHeap(out);
    ov.fill(0);
    body(ov, inputs.map((t) => w.typedArrayFromHeap!(t)));
    return out;
  }
  const c = backend as unknown as CpuLike;
  const size = shape.reduce((a, b) => a * b, 1);
  const ov = new Float32Array(size);
  const ins = inputs.map((t) => {
    const v = c.data.get(t.dataId).values;
    if (!(v instanceof Float32Array)) {
      throw new Error(
        `BLAS kernel: input of shape [${t.shape}] has no float32 values on this backend`,
      );
    }
    return v;
  });
  body(ov, ins);
  return c.makeTensorInfo(shape, "float32", ov);
}

/**
 * Whether the BLAS kernels can reach this backend's memory (wasm heap, cpu
 * values) and, on cpu, whether every input holds float32 values there.
 *
 * @param backend the backend instance a kernel was called with.
 * @param inputs the kernel's inputs.
 * @returns true when the kernel can run in place.
 */
export function blasReachable(
  backend: KernelBackend,
  inputs: TensorInfo[] = [],
): boolean {
  const w = backend as unknown as Partial<WasmLike>;
  if (typeof w.makeOutput === "function" && w.typedArrayFromHeap) return true;
  const c = backend as unknown as Partial<CpuLike>;
  return typeof c.makeTensorInfo === "function" &&
    typeof c.data?.get === "function" &&
    inputs.every((t) => c.data!.get(t.dataId)?.values instanceof Float32Array);
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function nhwc(attrs: tf.NamedAttrMap): boolean {
  const f = attrs.dataFormat;
  return f == null || f === "NHWC" || f === "channelsLast";
}

/**
 * BatchMatMul over sgemm: `a` [...batch, M, K] (or [..., K, M] with
 * `transposeA`), `b` [...batch, K, N] (or [..., N, K]); the flattened batch
 * sizes must match or one must be 1 (broadcast), as in TensorFlow.js.
 *
 * @param blas the library.
 * @param fallback the kernel used for calls it does not cover.
 * @param options thresholds.
 * @returns the kernel function.
 */
export function blasBatchMatMul(
  blas: Blas,
  fallback: BlasKernelFunc,
  options: BlasKernelOptions = DEFAULT_BLAS_KERNEL_OPTIONS,
): BlasKernelFunc {
  return (args) => {
    const { a, b } = args.inputs;
    const ta = Boolean(args.attrs.transposeA);
    const tb = Boolean(args.attrs.transposeB);
    if (!a || !b) throw new Error("BatchMatMul: inputs a and b are required");
    const ra = a.shape.length, rb = b.shape.length;
    if (
      a.dtype !== "float32" || b.dtype !== "float32" || ra < 2 || rb < 2 ||
      !blasReachable(args.backend, [a, b])
    ) {
      return fallback(args);
    }
    const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
    const kb = tb ? b.shape[rb - 1] : b.shape[rb - 2];
    const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
    const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
    const batchA = prod(outerA), batchB = prod(outerB);
    if (
      k !== kb || (batchA !== batchB && batchA !== 1 && batchB !== 1)
    ) {
      return fallback(args);
    }
    const batch = Math.max(batchA, batchB);
    if (batch * m * n * k < options.minFlops) {
      return fallback(args);
    }
    let outer: number[];
    try {
      outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    } catch {
      return fallback(args);
    }
    return compute(args.backend, [...outer, m, n], [a, b], (c, [av, bv]) => {
      const lda = ta ? m : k, ldb = tb ? k : n;
      for (let i = 0; i < batch; i++) {
        const ao = (batchA === 1 ? 0 : i) * m * k;
        const bo = (batchB === 1 ? 0 : i) * k * n;
        blas.sgemm(
          ta,
          tb,
          m,
          n,
          k,
          1,
          av.subarray(ao, ao + m * k),
          lda,
          bv.subarray(bo, bo + k * n),
          ldb,
          0,
          c.subarray(i * m * n, (i + 1) * m * n),
          n,
        );
      }
    });
  };
}

interface Geometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  top: number;
  left: number;
}

function geometry(info: tf.backend_util.Conv2DInfo): Geometry {
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

/** A convolution's geometry with its im2col row width and output rows. */
interface ConvPlan {
  g: Geometry;
  /** im2col row width kh·kw·inC. */
  kc: number;
  /** output positions per image outH·outW. */
  rows: number;
}

/**
 * The geometry of a conv call from its shapes and attributes, or null when
 * the product is too small to be worth BLAS (the caller then falls back).
 */
function convPlan(
  attrs: tf.NamedAttrMap,
  xShape: number[],
  filterShape: number[],
  options: BlasKernelOptions,
): ConvPlan | null {
  const { strides, pad, dilations, dimRoundingMode } = attrs;
  const g = geometry(tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides as [number, number],
    (dilations ?? 1) as [number, number],
    pad as "same",
    dimRoundingMode as "floor" | undefined,
  ));
  const kc = g.kh * g.kw * g.inC;
  const rows = g.outH * g.outW;
  if (g.batch * rows * kc * g.outC < options.minFlops) return null;
  return { g, kc, rows };
}

/** Images per im2col chunk so that the buffer stays under the cap. */
function imagesPerChunk(g: Geometry, maxFloats: number): number {
  const perImage = g.outH * g.outW * g.kh * g.kw * g.inC;
  return Math.max(1, Math.min(g.batch, Math.floor(maxFloats / perImage)));
}

let scratch = new Float32Array(0);
function scratchOf(size: number): Float32Array {
  if (scratch.length < size) scratch = new Float32Array(size);
  return scratch.subarray(0, size);
}

/**
 * im2col of images [b0, b0+nb): row (b, oy, ox), column (ky, kx, c) — the
 * row-major layout of an HWIO filter seen as [kh·kw·inC, outC].
 */
function im2col(
  x: Float32Array,
  g: Geometry,
  b0: number,
  nb: number,
  cols: Float32Array,
): void {
  const { inH, inW, inC, outH, outW, kh, kw, sh, sw, dh, dw, top, left } = g;
  const kc = kh * kw * inC;
  let row = 0;
  for (let b = b0; b < b0 + nb; b++) {
    const xb = b * inH * inW * inC;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++, row++) {
        let dst = row * kc;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - top + ky * dh;
          for (let kx = 0; kx < kw; kx++, dst += inC) {
            const ix = ox * sw - left + kx * dw;
            if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) {
              cols.fill(0, dst, dst + inC);
              continue;
            }
            const src = xb + (iy * inW + ix) * inC;
            if (inC < 16) {
              for (let c = 0; c < inC; c++) cols[dst + c] = x[src + c];
            } else cols.set(x.subarray(src, src + inC), dst);
          }
        }
      }
    }
  }
}

/** col2im (adds): the transpose of {@link im2col}. */
function col2im(
  cols: Float32Array,
  g: Geometry,
  b0: number,
  nb: number,
  dx: Float32Array,
): void {
  const { inH, inW, inC, outH, outW, kh, kw, sh, sw, dh, dw, top, left } = g;
  const kc = kh * kw * inC;
  let row = 0;
  for (let b = b0; b < b0 + nb; b++) {
    const xb = b * inH * inW * inC;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++, row++) {
        let src = row * kc;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - top + ky * dh;
          for (let kx = 0; kx < kw; kx++, src += inC) {
            const ix = ox * sw - left + kx * dw;
            if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
            const dst = xb + (iy * inW + ix) * inC;
            for (let c = 0; c < inC; c++) dx[dst + c] += cols[src + c];
          }
        }
      }
    }
  }
}

/** True when im2col is the identity (1×1 kernel, stride 1, no padding). */
function pointwise(g: Geometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 &&
    g.top === 0 && g.left === 0 && g.outH === g.inH && g.outW === g.inW;
}

/**
 * Conv2D (NHWC input, HWIO filter, any stride, dilation and padding) as
 * im2col + sgemm.
 *
 * @param blas the library.
 * @param fallback the kernel used for calls it does not cover.
 * @param options thresholds and the im2col buffer cap.
 * @returns the kernel function.
 */
export function blasConv2D(
  blas: Blas,
  fallback: BlasKernelFunc,
  options: BlasKernelOptions = DEFAULT_BLAS_KERNEL_OPTIONS,
): BlasKernelFunc {
  return (args) => {
    const { x, filter } = args.inputs;
    if (!x || !filter) {
      throw new Error("Conv2D: inputs x and filter are required");
    }
    if (
      x.dtype !== "float32" || filter.dtype !== "float32" ||
      !nhwc(args.attrs) || x.shape.length !== 4 || filter.shape.length !== 4 ||
      !blasReachable(args.backend, [x, filter])
    ) {
      return fallback(args);
    }
    const plan = convPlan(args.attrs, x.shape, filter.shape, options);
    if (!plan) return fallback(args);
    const { g, kc, rows } = plan;
    return compute(
      args.backend,
      [g.batch, g.outH, g.outW, g.outC],
      [x, filter],
      (out, [xv, wv]) => {
        if (pointwise(g)) {
          blas.sgemm(
            false,
            false,
            g.batch * rows,
            g.outC,
            kc,
            1,
            xv,
            kc,
            wv,
            g.outC,
            0,
            out,
            g.outC,
          );
          return;
        }
        const per = imagesPerChunk(g, options.maxColsFloats);
        for (let b0 = 0; b0 < g.batch; b0 += per) {
          const nb = Math.min(per, g.batch - b0);
          const cols = scratchOf(nb * rows * kc);
          im2col(xv, g, b0, nb, cols);
          blas.sgemm(
            false,
            false,
            nb * rows,
            g.outC,
            kc,
            1,
            cols,
            kc,
            wv,
            g.outC,
            0,
            out.subarray(b0 * rows * g.outC),
            g.outC,
          );
        }
      },
    );
  };
}

/**
 * Conv2DBackpropFilter (NHWC): `dW [kh·kw·inC, outC] = colsᵀ · dy`,
 * accumulated over im2col chunks in batch order.
 *
 * @param blas the library.
 * @param fallback the kernel used for calls it does not cover.
 * @param options thresholds and the im2col buffer cap.
 * @returns the kernel function.
 */
export function blasConv2DBackpropFilter(
  blas: Blas,
  fallback: BlasKernelFunc,
  options: BlasKernelOptions = DEFAULT_BLAS_KERNEL_OPTIONS,
): BlasKernelFunc {
  return (args) => {
    const { x, dy } = args.inputs;
    if (!x || !dy) {
      throw new Error("Conv2DBackpropFilter: inputs x and dy are required");
    }
    const fs = args.attrs.filterShape as [number, number, number, number];
    if (
      x.dtype !== "float32" || dy.dtype !== "float32" ||
      !nhwc(args.attrs) || x.shape.length !== 4 ||
      !blasReachable(args.backend, [x, dy])
    ) {
      return fallback(args);
    }
    const plan = convPlan(args.attrs, x.shape, fs, options);
    if (!plan) return fallback(args);
    const { g, kc, rows } = plan;
    return compute(args.backend, [...fs], [x, dy], (dw, [xv, dyv]) => {
      if (pointwise(g)) {
        blas.sgemm(
          true,
          false,
          kc,
          g.outC,
          g.batch * rows,
          1,
          xv,
          kc,
          dyv,
          g.outC,
          0,
          dw,
          g.outC,
        );
        return;
      }
      const per = imagesPerChunk(g, options.maxColsFloats);
      for (let b0 = 0; b0 < g.batch; b0 += per) {
        const nb = Math.min(per, g.batch - b0);
        const cols = scratchOf(nb * rows * kc);
        im2col(xv, g, b0, nb, cols);
        blas.sgemm(
          true,
          false,
          kc,
          g.outC,
          nb * rows,
          1,
          cols,
          kc,
          dyv.subarray(b0 * rows * g.outC),
          g.outC,
          b0 === 0 ? 0 : 1,
          dw,
          g.outC,
        );
      }
    });
  };
}

/**
 * Conv2DBackpropInput (NHWC): `dcols = dy · Wᵀ` by sgemm, then col2im.
 *
 * @param blas the library.
 * @param fallback the kernel used for calls it does not cover.
 * @param options thresholds and the im2col buffer cap.
 * @returns the kernel function.
 */
export function blasConv2DBackpropInput(
  blas: Blas,
  fallback: BlasKernelFunc,
  options: BlasKernelOptions = DEFAULT_BLAS_KERNEL_OPTIONS,
): BlasKernelFunc {
  return (args) => {
    const { dy, filter } = args.inputs;
    if (!dy || !filter) {
      throw new Error("Conv2DBackpropInput: inputs dy and filter are required");
    }
    const xs = args.attrs.inputShape as [number, number, number, number];
    if (
      dy.dtype !== "float32" || filter.dtype !== "float32" ||
      !nhwc(args.attrs) || filter.shape.length !== 4 ||
      !blasReachable(args.backend, [dy, filter])
    ) {
      return fallback(args);
    }
    const plan = convPlan(args.attrs, xs, filter.shape, options);
    if (!plan) return fallback(args);
    const { g, kc, rows } = plan;
    return compute(args.backend, [...xs], [dy, filter], (dx, [dyv, wv]) => {
      if (pointwise(g)) {
        blas.sgemm(
          false,
          true,
          g.batch * rows,
          kc,
          g.outC,
          1,
          dyv,
          g.outC,
          wv,
          g.outC,
          0,
          dx,
          kc,
        );
        return;
      }
      const per = imagesPerChunk(g, options.maxColsFloats);
      for (let b0 = 0; b0 < g.batch; b0 += per) {
        const nb = Math.min(per, g.batch - b0);
        const cols = scratchOf(nb * rows * kc);
        blas.sgemm(
          false,
          true,
          nb * rows,
          kc,
          g.outC,
          1,
          dyv.subarray(b0 * rows * g.outC),
          g.outC,
          wv,
          g.outC,
          0,
          cols,
          kc,
        );
        col2im(cols, g, b0, nb, dx);
      }
    });
  };
}
