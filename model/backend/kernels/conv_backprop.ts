/**
 * Convolution gradients written as forward convolutions, for backends whose
 * backprop kernels are missing (wasm: Conv2DBackpropFilter,
 * DepthwiseConv2dNativeBackpropFilter/Input) or slow (wasm's
 * Conv2DBackpropInput is a naive loop; XNNPACK's forward conv is not).
 *
 * With forward `y[o] = Σ_k x[o·s + k·d − p] · w[k]` (stride s, dilation d,
 * leading pad p; per spatial dim):
 * - weight gradient `dw[k] = Σ_o x[k·d + o·s − p] · dy[o]` is a convolution
 *   of x (batch ↔ channels swapped) with dy as the filter, stride d and
 *   dilation s;
 * - input gradient `dx[i] = Σ_k dŷ[i + p − (K−1)·d + k·d] · w[K−1−k]` is a
 *   stride-1 convolution, dilation d, of dy dilated by s (s−1 zeros between
 *   entries) with the spatially flipped filter.
 *
 * The kernels compose the backend's own kernels (Conv2D,
 * DepthwiseConv2dNative, Transpose, Reshape, PadV2, Slice, Reverse, Sum), so
 * they work on any backend that has those; only NHWC is supported. Dilation
 * must be 1 (TensorFlow.js' conv gradients require that too); the formulas
 * above hold for any d, but only d = 1 is tested against the cpu backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TensorInfo } from "./types.ts";
import {
  type Attrs,
  input,
  type KernelArgs,
  KernelScope,
} from "./kernel_scope.ts";

type Pad = number | "same" | "valid" | number[][];

function pair(v: unknown, what: string): [number, number] {
  if (v == null) return [1, 1];
  if (typeof v === "number") return [v, v];
  if (Array.isArray(v) && v.length === 2) return [v[0], v[1]];
  throw new Error(
    `conv backprop: ${what} must be a number or a pair, got ${v}`,
  );
}

function checkNHWC(attrs: Attrs, kernel: string): void {
  const f = attrs.dataFormat;
  if (f != null && f !== "NHWC" && f !== "channelsLast") {
    throw new Error(
      `${kernel}: dataFormat "${f}" is not supported by the provided kernel; use NHWC`,
    );
  }
}

function checkStrideDilation(
  _s: [number, number],
  d: [number, number],
  kernel: string,
): void {
  if (d[0] !== 1 || d[1] !== 1) {
    throw new Error(
      `${kernel}: dilations [${d}] are not supported by the provided kernel (TensorFlow.js' conv gradients require dilation 1 as well)`,
    );
  }
}

/** Per spatial dim: how to crop/pad an operand before a 'valid'-style conv. */
interface Span {
  cropBegin: number;
  cropEnd: number;
  padBegin: number;
  padEnd: number;
}

function span(padBegin: number, padEnd: number): Span {
  return {
    cropBegin: Math.max(0, -padBegin),
    cropEnd: Math.max(0, -padEnd),
    padBegin: Math.max(0, padBegin),
    padEnd: Math.max(0, padEnd),
  };
}

/** Crops dims 1 and 2 of a 4-D tensor by the spans (no-op when nothing to crop). */
function crop(
  s: KernelScope,
  t: tf.TensorInfo,
  h: Span,
  w: Span,
): tf.TensorInfo {
  if (h.cropBegin + h.cropEnd + w.cropBegin + w.cropEnd === 0) return t;
  const [b, rows, cols, c] = t.shape;
  return s.run("Slice", { x: t }, {
    begin: [0, h.cropBegin, w.cropBegin, 0],
    size: [
      b,
      rows - h.cropBegin - h.cropEnd,
      cols - w.cropBegin - w.cropEnd,
      c,
    ],
  });
}

/**
 * Inserts `sh − 1` zero rows after every row and `sw − 1` zero columns after
 * every column of an NHWC tensor (trailing zeros included).
 */
function dilate(
  s: KernelScope,
  dy: tf.TensorInfo,
  sh: number,
  sw: number,
): tf.TensorInfo {
  let [b, oh, ow, c] = dy.shape;
  let t = dy;
  if (sh > 1) {
    t = s.run("Reshape", { x: t }, { shape: [b, oh, 1, ow * c] });
    t = s.run("PadV2", { x: t }, {
      paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0]],
      constantValue: 0,
    });
    oh *= sh;
    t = s.run("Reshape", { x: t }, { shape: [b, oh, ow, c] });
  }
  if (sw > 1) {
    t = s.run("Reshape", { x: t }, { shape: [b * oh, ow, 1, c] });
    t = s.run("PadV2", { x: t }, {
      paddings: [[0, 0], [0, 0], [0, sw - 1], [0, 0]],
      constantValue: 0,
    });
    ow *= sw;
    t = s.run("Reshape", { x: t }, { shape: [b, oh, ow, c] });
  }
  return t;
}

/**
 * Reverses the leading two (spatial) axes of a filter. Short axes are
 * reversed with Slice + Concat, which are memcpy-fast on wasm; wasm's
 * Reverse kernel is slow on such filters (scripts/bench/README).
 */
function flipSpatial(s: KernelScope, f: TensorInfo): TensorInfo {
  let t = f;
  for (const axis of [0, 1]) {
    const n = t.shape[axis];
    if (n === 1) continue;
    if (n > 16) {
      t = s.run("Reverse", { x: t }, { dims: [axis] });
      continue;
    }
    const parts: TensorInfo[] = [];
    for (let i = n - 1; i >= 0; i--) {
      const begin = t.shape.map(() => 0);
      const size = [...t.shape];
      begin[axis] = i;
      size[axis] = 1;
      parts.push(s.run("Slice", { x: t }, { begin, size }));
    }
    t = s.run("Concat", parts as unknown as Record<string, TensorInfo>, {
      axis,
    });
  }
  return t;
}

function convInfo(
  inShape: number[],
  filterShape: number[],
  attrs: Attrs,
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    (attrs.dilations ?? 1) as [number, number],
    attrs.pad as Pad as "same",
    attrs.dimRoundingMode as "floor" | undefined,
    depthwise,
  );
}

/**
 * Prepares dy for the input-gradient conv: dilation by the stride, then the
 * crops/pads that make a stride-1, dilation-d conv with a K-tap filter
 * produce exactly the input's spatial size.
 */
function inputGradOperand(
  s: KernelScope,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): { t: tf.TensorInfo; pad: number[][] } {
  const sh = info.strideHeight, sw = info.strideWidth;
  const dh = info.dilationHeight, dw = info.dilationWidth;
  const t0 = dilate(s, dy, sh, sw);
  const lh = t0.shape[1], lw = t0.shape[2];
  const ph = (info.filterHeight - 1) * dh - info.padInfo.top;
  const pw = (info.filterWidth - 1) * dw - info.padInfo.left;
  const h = span(ph, info.inHeight + (info.filterHeight - 1) * dh - lh - ph);
  const w = span(pw, info.inWidth + (info.filterWidth - 1) * dw - lw - pw);
  return {
    t: crop(s, t0, h, w),
    pad: [[0, 0], [h.padBegin, h.padEnd], [w.padBegin, w.padEnd], [0, 0]],
  };
}

/**
 * Prepares x for the weight-gradient conv: the trailing pad that makes the
 * result exactly K taps long (negative: crop rows the forward never read).
 */
function filterGradSpans(info: tf.backend_util.Conv2DInfo): [Span, Span] {
  const endH = (info.filterHeight - 1) * info.dilationHeight + 1 +
    (info.outHeight - 1) * info.strideHeight - info.inHeight -
    info.padInfo.top;
  const endW = (info.filterWidth - 1) * info.dilationWidth + 1 +
    (info.outWidth - 1) * info.strideWidth - info.inWidth -
    info.padInfo.left;
  return [span(info.padInfo.top, endH), span(info.padInfo.left, endW)];
}

function withScope(
  backend: tf.KernelBackend,
  f: (s: KernelScope) => tf.TensorInfo,
): tf.TensorInfo {
  const s = new KernelScope(backend, tf.getBackend());
  try {
    return s.keep(f(s));
  } finally {
    s.dispose();
  }
}

/**
 * Conv2DBackpropFilter as a forward Conv2D over transposed tensors:
 * `x` → [Cin, H, W, B] convolved with `dy` → [OH, OW, B, Cout] (stride =
 * forward dilation, dilation = forward stride) gives [Cin, KH, KW, Cout].
 *
 * @param args the kernel call (inputs `x`, `dy`; attrs as tf's kernel).
 * @returns the filter gradient [KH, KW, Cin, Cout].
 */
export function conv2DBackpropFilterViaConv(
  args: KernelArgs,
): TensorInfo {
  const x = input(args, "x", "Conv2DBackpropFilter");
  const dy = input(args, "dy", "Conv2DBackpropFilter");
  const attrs = args.attrs as unknown as Attrs;
  checkNHWC(attrs, "Conv2DBackpropFilter");
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, attrs, false);
  const st = pair(attrs.strides, "strides"),
    di = pair(attrs.dilations, "dilations");
  checkStrideDilation(st, di, "Conv2DBackpropFilter");
  return withScope(args.backend, (s) => {
    const [h, w] = filterGradSpans(info);
    const xc = crop(s, x, h, w);
    const xt = s.run("Transpose", { x: xc }, { perm: [3, 1, 2, 0] });
    const ft = s.run("Transpose", { x: dy }, { perm: [1, 2, 0, 3] });
    const r = s.run("Conv2D", { x: xt, filter: ft }, {
      strides: di,
      dilations: st,
      pad: [[0, 0], [h.padBegin, h.padEnd], [w.padBegin, w.padEnd], [0, 0]],
      dataFormat: "NHWC",
    });
    return s.run("Transpose", { x: r }, { perm: [1, 2, 0, 3] });
  });
}

/**
 * Conv2DBackpropFilter as im2col + one matrix product: the K·K strided
 * windows of the padded `x` are concatenated along channels into
 * [B·OH·OW, KH·KW·Cin] patches, and `patchesᵀ · dy` is the filter gradient.
 * On wasm it was slower than {@link conv2DBackpropFilterViaConv} on every
 * shape of `scripts/bench/kernels_bench.ts` (scripts/bench/README), so it
 * is not registered; it is kept as the benchmark's alternative.
 *
 * @param args the kernel call (inputs `x`, `dy`; attrs as tf's kernel).
 * @returns the filter gradient [KH, KW, Cin, Cout].
 */
export function conv2DBackpropFilterIm2col(args: KernelArgs): TensorInfo {
  const kernel = "Conv2DBackpropFilter";
  const x = input(args, "x", kernel);
  const dy = input(args, "dy", kernel);
  const attrs = args.attrs as unknown as Attrs;
  checkNHWC(attrs, kernel);
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, attrs, false);
  checkStrideDilation(
    pair(attrs.strides, "strides"),
    pair(attrs.dilations, "dilations"),
    kernel,
  );
  const [kh, kw, ci, co] = filterShape;
  const { batchSize: b, outHeight: oh, outWidth: ow } = info;
  const sh = info.strideHeight, sw = info.strideWidth;
  return withScope(args.backend, (s) => {
    const [h, w] = filterGradSpans(info);
    const xc = crop(s, x, h, w);
    const xp = s.run("PadV2", { x: xc }, {
      paddings: [[0, 0], [h.padBegin, h.padEnd], [w.padBegin, w.padEnd], [
        0,
        0,
      ]],
      constantValue: 0,
    });
    const taps: TensorInfo[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        taps.push(s.run("StridedSlice", { x: xp }, {
          begin: [0, i, j, 0],
          end: [b, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, ci],
          strides: [1, sh, sw, 1],
          beginMask: 0,
          endMask: 0,
          ellipsisMask: 0,
          newAxisMask: 0,
          shrinkAxisMask: 0,
        }));
      }
    }
    const patches = taps.length === 1 ? taps[0] : s.run(
      "Concat",
      taps as unknown as Record<string, TensorInfo>,
      { axis: 3 },
    );
    const a = s.run("Reshape", { x: patches }, {
      shape: [1, b * oh * ow, kh * kw * ci],
    });
    const d = s.run("Reshape", { x: dy }, { shape: [1, b * oh * ow, co] });
    const g = s.run("BatchMatMul", { a, b: d }, {
      transposeA: true,
      transposeB: false,
    });
    return s.run("Reshape", { x: g }, { shape: [kh, kw, ci, co] });
  });
}

/** Checked operands and conv geometry of a Conv2DBackpropInput call. */
function backpropInputOperands(args: KernelArgs) {
  const kernel = "Conv2DBackpropInput";
  const dy = input(args, "dy", kernel);
  const filter = input(args, "filter", kernel);
  const attrs = args.attrs as unknown as Attrs;
  checkNHWC(attrs, kernel);
  const info = convInfo(
    attrs.inputShape as number[],
    filter.shape,
    attrs,
    false,
  );
  checkStrideDilation(
    pair(attrs.strides, "strides"),
    pair(attrs.dilations, "dilations"),
    kernel,
  );
  return { dy, filter, info };
}

/**
 * Conv2DBackpropInput as forward convolutions. Stride 1: a conv of `dy`
 * with the flipped, in/out-swapped filter. Equal strides s > 1: the
 * sub-pixel form — input position `g = s·i′ + r` (g = i + pad) only meets
 * filter taps `k ≡ r (mod s)`, so one stride-1 conv of `dy` with the s²
 * sub-filters stacked as output channels ([T, T, Cout, s²·Cin], T =
 * ⌈K/s⌉), then depth-to-space (s) and a crop, gives dx without multiplying the
 * zeros a stride-dilated `dy` would carry. Unequal strides: the conv over
 * the stride-dilated `dy` ({@link conv2DBackpropInputDilated}).
 *
 * @param args the kernel call (inputs `dy`, `filter`; attrs as tf's kernel).
 * @returns the input gradient with shape `attrs.inputShape`.
 */
export function conv2DBackpropInputViaConv(args: KernelArgs): TensorInfo {
  const { dy, filter, info } = backpropInputOperands(args);
  const sh = info.strideHeight, sw = info.strideWidth;
  if (sh === 1 && sw === 1) return conv2DBackpropInputDilated(args);
  if (sh !== sw) return conv2DBackpropInputDilated(args);
  const st = sh;
  const [kh, kw, ci, co] = filter.shape;
  const th = Math.ceil(kh / st), tw = Math.ceil(kw / st);
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const hq = Math.ceil((info.inHeight + pt) / st);
  const wq = Math.ceil((info.inWidth + pl) / st);
  return withScope(args.backend, (s) => {
    const h = span(th - 1, hq - info.outHeight);
    const w = span(tw - 1, wq - info.outWidth);
    const dyc = crop(s, dy, h, w);
    let f = s.run("PadV2", { x: filter }, {
      paddings: [[0, th * st - kh], [0, tw * st - kw], [0, 0], [0, 0]],
      constantValue: 0,
    });
    // (t, rh, u, rw, ci, co) → (t, u, co, rh, rw, ci) in two low-rank
    // transposes (wasm's rank-6 transpose is ~20× slower).
    f = s.run("Reshape", { x: f }, { shape: [th, st, tw, st * ci * co] });
    f = s.run("Transpose", { x: f }, { perm: [0, 2, 1, 3] });
    f = s.run("Reshape", { x: f }, { shape: [th * tw, st * st * ci, co] });
    f = s.run("Transpose", { x: f }, { perm: [0, 2, 1] });
    f = s.run("Reshape", { x: f }, { shape: [th, tw, co, st * st * ci] });
    f = flipSpatial(s, f);
    const z = s.run("Conv2D", { x: dyc, filter: f }, {
      strides: [1, 1],
      dilations: [1, 1],
      pad: [[0, 0], [h.padBegin, h.padEnd], [w.padBegin, w.padEnd], [0, 0]],
      dataFormat: "NHWC",
    });
    // depth-to-space as reshape/transpose (wasm's DepthToSpace is ~100× slower)
    const b = info.batchSize;
    let a = s.run("Reshape", { x: z }, { shape: [b, hq, wq, st, st, ci] });
    a = s.run("Transpose", { x: a }, { perm: [0, 1, 3, 2, 4, 5] });
    a = s.run("Reshape", { x: a }, { shape: [b, hq * st, wq * st, ci] });
    return s.run("Slice", { x: a }, {
      begin: [0, pt, pl, 0],
      size: [info.batchSize, info.inHeight, info.inWidth, ci],
    });
  });
}

/**
 * Conv2DBackpropInput as a stride-1 Conv2D of the stride-dilated `dy` with
 * the flipped, in/out-swapped filter (any strides; for s > 1 it multiplies
 * the inserted zeros, see {@link conv2DBackpropInputViaConv}).
 *
 * @param args the kernel call (inputs `dy`, `filter`; attrs as tf's kernel).
 * @returns the input gradient with shape `attrs.inputShape`.
 */
export function conv2DBackpropInputDilated(args: KernelArgs): TensorInfo {
  const { dy, filter, info } = backpropInputOperands(args);
  return withScope(args.backend, (s) => {
    const { t, pad } = inputGradOperand(s, dy, info);
    const flipped = flipSpatial(s, filter);
    const wf = s.run("Transpose", { x: flipped }, { perm: [0, 1, 3, 2] });
    return s.run("Conv2D", { x: t, filter: wf }, {
      strides: [1, 1],
      dilations: [info.dilationHeight, info.dilationWidth],
      pad,
      dataFormat: "NHWC",
    });
  });
}

/**
 * DepthwiseConv2dNativeBackpropFilter as a depthwise conv of `x` laid out
 * as one image with B·C channels ([1, H, W, B·C]) by `dy` as a
 * [OH, OW, B·C, M] filter, summed over the batch.
 *
 * @param args the kernel call (inputs `x`, `dy`; attrs as tf's kernel).
 * @returns the filter gradient [KH, KW, C, M].
 */
export function depthwiseBackpropFilterViaConv(
  args: KernelArgs,
): TensorInfo {
  const x = input(args, "x", "DepthwiseConv2dNativeBackpropFilter");
  const dy = input(args, "dy", "DepthwiseConv2dNativeBackpropFilter");
  const attrs = args.attrs as unknown as Attrs;
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, attrs, true);
  const st = pair(attrs.strides, "strides"),
    di = pair(attrs.dilations, "dilations");
  checkStrideDilation(st, di, "DepthwiseConv2dNativeBackpropFilter");
  const [kh, kw, c, m] = filterShape;
  const b = x.shape[0];
  return withScope(args.backend, (s) => {
    const [h, w] = filterGradSpans(info);
    const xc = crop(s, x, h, w);
    const xt = s.run("Transpose", { x: xc }, { perm: [1, 2, 0, 3] });
    const xr = s.run("Reshape", { x: xt }, {
      shape: [1, xc.shape[1], xc.shape[2], b * c],
    });
    const ft = s.run("Transpose", { x: dy }, { perm: [1, 2, 0, 3] });
    const fr = s.run("Reshape", { x: ft }, {
      shape: [info.outHeight, info.outWidth, b * c, m],
    });
    const r = s.run("DepthwiseConv2dNative", { x: xr, filter: fr }, {
      strides: di,
      dilations: st,
      pad: [[0, 0], [h.padBegin, h.padEnd], [w.padBegin, w.padEnd], [0, 0]],
    });
    const rr = s.run("Reshape", { x: r }, { shape: [kh, kw, b, c * m] });
    const sum = s.run("Sum", { x: rr }, { axis: [2], keepDims: false });
    return s.run("Reshape", { x: sum }, { shape: [kh, kw, c, m] });
  });
}

/**
 * DepthwiseConv2dNativeBackpropInput as a stride-1 depthwise conv of the
 * stride-dilated `dy` with the flipped filter (summed over the channel
 * multiplier when it exceeds 1).
 *
 * @param args the kernel call (inputs `dy`, `filter`; attrs as tf's kernel).
 * @returns the input gradient with shape `attrs.inputShape`.
 */
export function depthwiseBackpropInputViaConv(
  args: KernelArgs,
): TensorInfo {
  const dy = input(args, "dy", "DepthwiseConv2dNativeBackpropInput");
  const filter = input(args, "filter", "DepthwiseConv2dNativeBackpropInput");
  const attrs = args.attrs as unknown as Attrs;
  const inputShape = attrs.inputShape as number[];
  const info = convInfo(inputShape, filter.shape, attrs, true);
  checkStrideDilation(
    pair(attrs.strides, "strides"),
    pair(attrs.dilations, "dilations"),
    "DepthwiseConv2dNativeBackpropInput",
  );
  const [kh, kw, c, m] = filter.shape;
  return withScope(args.backend, (s) => {
    const { t, pad } = inputGradOperand(s, dy, info);
    let wf = flipSpatial(s, filter);
    if (m > 1) wf = s.run("Reshape", { x: wf }, { shape: [kh, kw, c * m, 1] });
    const z = s.run("DepthwiseConv2dNative", { x: t, filter: wf }, {
      strides: [1, 1],
      dilations: [info.dilationHeight, info.dilationWidth],
      pad,
    });
    if (m === 1) return z;
    const zr = s.run("Reshape", { x: z }, {
      shape: [z.shape[0] * z.shape[1] * z.shape[2] * c, m],
    });
    const sum = s.run("Sum", { x: zr }, { axis: [1], keepDims: false });
    return s.run("Reshape", { x: sum }, { shape: inputShape });
  });
}
