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
export function unsortedSegmentSumWasm(args: KernelArgs): tf.TensorInfo {
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
export function maxPoolGradWasm(args: KernelArgs): tf.TensorInfo {
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
