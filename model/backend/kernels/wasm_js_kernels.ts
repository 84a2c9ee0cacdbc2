/**
 * Kernels for the wasm backend written in TypeScript over the wasm heap:
 * UnsortedSegmentSum (missing on wasm; it is gather's gradient) and a
 * correct MaxPoolGrad (wasm's own gives wrong values when batch > 1 or
 * channels > 1). Both read their inputs in place from the module's memory
 * and write the output there, so no copies cross the JS/wasm boundary.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TensorInfo } from "./types.ts";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

import { input, type KernelArgs } from "./kernel_scope.ts";

/**
 * UnsortedSegmentSum: `out[ids[i], ...] += x[i, ...]` over the leading
 * `ids.rank` dimensions of `x`; ids outside `0..numSegments-1` are dropped
 * (TensorFlow's semantics).
 *
 * @param args the kernel call (inputs `x`, `segmentIds`; attr `numSegments`).
 * @returns [numSegments, ...x.shape.slice(segmentIds.rank)], dtype of x.
 */
export function unsortedSegmentSumWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = input(args, "x", "UnsortedSegmentSum");
  const segmentIds = input(args, "segmentIds", "UnsortedSegmentSum");
  const numSegments = args.attrs.numSegments as number;
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(
      `UnsortedSegmentSum: numSegments must be a non-negative integer, got ${numSegments}`,
    );
  }
  const idRank = segmentIds.shape.length;
  for (let i = 0; i < idRank; i++) {
    if (segmentIds.shape[i] !== x.shape[i]) {
      throw new Error(
        `UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] is not a prefix of x shape [${x.shape}]`,
      );
    }
  }
  const inner = x.shape.slice(idRank).reduce((a, b) => a * b, 1);
  const out = backend.makeOutput(
    [numSegments, ...x.shape.slice(idRank)],
    x.dtype,
  );
  const xv = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  const ov = backend.typedArrayFromHeap(out);
  ov.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const seg = ids[i];
    if (seg < 0 || seg >= numSegments) continue;
    const o = seg * inner, s = i * inner;
    for (let k = 0; k < inner; k++) ov[o + k] += xv[s + k];
  }
  return out;
}

/**
 * MaxPoolGrad (NHWC): routes each `dy` entry to the first (row-major)
 * maximum of its pooling window among the in-bounds input positions, as
 * the cpu backend does.
 *
 * @param args the kernel call (inputs `dy`, `input`, `output`; attrs
 *   `filterSize`, `strides`, `pad`, `dimRoundingMode`).
 * @returns dx with the shape of `input`.
 */
export function maxPoolGradWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const dy = input(args, "dy", "MaxPoolGrad");
  const x = input(args, "input", "MaxPoolGrad");
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    filterSize as [number, number],
    strides as [number, number],
    1,
    pad as "same",
    dimRoundingMode as "floor" | undefined,
  );
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels: ch,
    outHeight,
    outWidth,
    strideHeight,
    strideWidth,
    effectiveFilterHeight,
    effectiveFilterWidth,
  } = info;
  const top = info.padInfo.top, left = info.padInfo.left;
  const dx = backend.makeOutput(x.shape, "float32");
  const xv = backend.typedArrayFromHeap(x);
  const dyv = backend.typedArrayFromHeap(dy);
  const dxv = backend.typedArrayFromHeap(dx);
  dxv.fill(0);
  for (let b = 0; b < batchSize; b++) {
    const xb = b * inHeight * inWidth * ch;
    for (let oh = 0; oh < outHeight; oh++) {
      const r0 = oh * strideHeight - top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(inHeight, r0 + effectiveFilterHeight);
      for (let ow = 0; ow < outWidth; ow++) {
        const c0 = ow * strideWidth - left;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(inWidth, c0 + effectiveFilterWidth);
        const yo = ((b * outHeight + oh) * outWidth + ow) * ch;
        for (let c = 0; c < ch; c++) {
          let best = -Infinity, at = -1;
          for (let r = rMin; r < rMax; r++) {
            for (let q = cMin; q < cMax; q++) {
              const i = xb + (r * inWidth + q) * ch + c;
              if (at < 0 || xv[i] > best) {
                best = xv[i];
                at = i;
              }
            }
          }
          if (at >= 0) dxv[at] += dyv[yo + c];
        }
      }
    }
  }
  return dx;
}

/**
 * DepthwiseConv2dNativeBackpropFilter (NHWC, dilation 1) as a loop over the
 * wasm heap: `dw[kh, kw, c, m] = Σ_{b,oh,ow} x[b, oh·s + kh − pt, ow·s + kw − pl, c] ·
 * dy[b, oh, ow, c·M + m]`, accumulated in float64 per filter entry.
 *
 * @param args the kernel call (inputs `x`, `dy`; attrs `strides`, `pad`,
 *   `dilations`, `dimRoundingMode`, `filterShape`).
 * @returns the filter gradient with shape `attrs.filterShape`.
 */
export function depthwiseBackpropFilterWasm(args: KernelArgs): TensorInfo {
  const kernel = "DepthwiseConv2dNativeBackpropFilter";
  const backend = args.backend as BackendWasm;
  const x = input(args, "x", kernel);
  const dy = input(args, "dy", kernel);
  const { strides, pad, dilations, dimRoundingMode, filterShape } = args.attrs;
  const fs = filterShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    fs,
    strides as [number, number],
    (dilations ?? 1) as [number, number],
    pad as "same",
    dimRoundingMode as "floor" | undefined,
    true,
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    throw new Error(
      `${kernel}: dilations [${dilations}] are not supported by the provided kernel (TensorFlow.js' gradients require dilation 1 as well)`,
    );
  }
  const [kh, kw, c, m] = fs;
  const { batchSize, inHeight, inWidth, outHeight, outWidth } = info;
  const sh = info.strideHeight, sw = info.strideWidth;
  const top = info.padInfo.top, left = info.padInfo.left;
  const cm = c * m;
  const xv = backend.typedArrayFromHeap(x) as Float32Array;
  const dyv = backend.typedArrayFromHeap(dy) as Float32Array;
  const acc = new Float64Array(kh * kw * cm);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const yo = ((b * outHeight + oh) * outWidth + ow) * cm;
        for (let i = 0; i < kh; i++) {
          const r = oh * sh + i - top;
          if (r < 0 || r >= inHeight) continue;
          for (let j = 0; j < kw; j++) {
            const q = ow * sw + j - left;
            if (q < 0 || q >= inWidth) continue;
            const xo = ((b * inHeight + r) * inWidth + q) * c;
            const ao = (i * kw + j) * cm;
            if (m === 1) {
              for (let k = 0; k < c; k++) {
                acc[ao + k] += xv[xo + k] * dyv[yo + k];
              }
            } else {
              for (let k = 0; k < c; k++) {
                const xk = xv[xo + k];
                for (let n = 0; n < m; n++) {
                  acc[ao + k * m + n] += xk * dyv[yo + k * m + n];
                }
              }
            }
          }
        }
      }
    }
  }
  const out = backend.makeOutput(fs, "float32");
  (backend.typedArrayFromHeap(out) as Float32Array).set(acc);
  return out;
}
