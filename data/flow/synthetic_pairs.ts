/**
 * Synthetic image pairs with a known flow, for testing and benchmarking
 * optical flow. A seeded analytic texture `T` (Gaussian blobs plus plane
 * waves) is sampled exactly (no interpolation) so that
 * `prev(y, x) = T(x + u, y + v)` and `next(y, x) = T(x, y)`: the true flow
 * `(u, v)` satisfies `prev(y, x) = next(y + v, x + u)`, the convention of
 * {@link tvl1Flow}. Pixel values are rounded to integers in 0..255, like
 * 8-bit frames.
 *
 * @module
 */

import type { FlowField } from "./tvl1.ts";

/** The kinds of known motion a synthetic pair can carry. */
export type FlowPairKind = "translation" | "smooth_warp" | "local_bump";

/** A synthetic image pair and its true flow. */
export interface FlowPair {
  /** what motion it carries. */
  kind: FlowPairKind;
  /** image width. */
  width: number;
  /** image height. */
  height: number;
  /** first frame, row-major, integer values 0..255. */
  prev: Float32Array;
  /** second frame, same layout. */
  next: Float32Array;
  /** the true flow (`prev(y, x) = next(y + v, x + u)`). */
  flow: FlowField;
}

/** Mulberry32: a small, fast, seeded 32-bit generator returning [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random smooth texture over the plane, scaled to the image size.
 *
 * @param rand uniform [0, 1) source
 * @param size image side (sets blob sizes and wave frequencies)
 * @returns `T(x, y)`, roughly within 0..255
 */
function makeTexture(
  rand: () => number,
  size: number,
): (x: number, y: number) => number {
  const uni = (a: number, b: number) => a + (b - a) * rand();
  const s = size / 48;
  const nb = Math.round(14 * s * s);
  const bx = new Float64Array(nb), by = new Float64Array(nb);
  const bk = new Float64Array(nb), ba = new Float64Array(nb);
  for (let i = 0; i < nb; i++) {
    bx[i] = uni(-4, size + 4);
    by[i] = uni(-4, size + 4);
    const sd = uni(2.5, 7.0);
    bk[i] = 1 / (2 * sd * sd);
    ba[i] = uni(-90, 90) / Math.max(1, Math.sqrt(s));
  }
  const nw = 4;
  const wx = new Float64Array(nw), wy = new Float64Array(nw);
  const wp = new Float64Array(nw), wa = new Float64Array(nw);
  for (let i = 0; i < nw; i++) {
    const f = uni(0.08, 0.35), d = uni(0, 2 * Math.PI);
    wx[i] = f * Math.cos(d);
    wy[i] = f * Math.sin(d);
    wp[i] = uni(0, 2 * Math.PI);
    wa[i] = uni(8, 20);
  }
  return (x, y) => {
    let t = 128;
    for (let i = 0; i < nb; i++) {
      const dx = x - bx[i], dy = y - by[i];
      const q = (dx * dx + dy * dy) * bk[i];
      if (q < 30) t += ba[i] * Math.exp(-q);
    }
    for (let i = 0; i < nw; i++) {
      t += wa[i] * Math.sin(wx[i] * x + wy[i] * y + wp[i]);
    }
    return t;
  };
}

/**
 * Make a synthetic pair of `size × size` frames carrying a known flow.
 *
 * - `translation`: constant `(u, v)`, each drawn uniformly in `±amplitude`;
 * - `smooth_warp`: `u = a·sin(2πy/size + φ)`, `v = b·cos(2πx/size + ψ)` with
 *   `|a|, |b| ≤ amplitude`;
 * - `local_bump`: a Gaussian bump of displacement (peak `≤ amplitude`, σ =
 *   size/7) at a random place, zero far from it — like a facial action.
 *
 * @param kind the motion
 * @param size image side in pixels (≥ 8)
 * @param seed seed of the texture and motion parameters
 * @param amplitude largest displacement in pixels (default 2)
 * @returns the frames and their true flow
 */
export function makeFlowPair(
  kind: FlowPairKind,
  size: number,
  seed: number,
  amplitude = 2,
): FlowPair {
  if (!["translation", "smooth_warp", "local_bump"].includes(kind)) {
    throw new RangeError(
      `makeFlowPair: kind must be translation, smooth_warp or local_bump, got ${kind}`,
    );
  }
  if (!Number.isInteger(size) || size < 8) {
    throw new RangeError(
      `makeFlowPair: size must be an integer ≥ 8, got ${size}`,
    );
  }
  if (!Number.isFinite(amplitude) || amplitude < 0) {
    throw new RangeError(
      `makeFlowPair: amplitude must be a finite number ≥ 0, got ${amplitude}`,
    );
  }
  const rand = mulberry32(seed);
  const tex = makeTexture(rand, size);
  const uni = (a: number, b: number) => a + (b - a) * rand();
  const n = size * size;
  const u = new Float32Array(n), v = new Float32Array(n);
  if (kind === "translation") {
    u.fill(uni(-amplitude, amplitude));
    v.fill(uni(-amplitude, amplitude));
  } else if (kind === "smooth_warp") {
    const a = uni(-amplitude, amplitude), b = uni(-amplitude, amplitude);
    const p = uni(0, 2 * Math.PI), q = uni(0, 2 * Math.PI);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        u[y * size + x] = a * Math.sin((2 * Math.PI * y) / size + p);
        v[y * size + x] = b * Math.cos((2 * Math.PI * x) / size + q);
      }
    }
  } else {
    const cx = uni(0.3, 0.7) * size, cy = uni(0.3, 0.7) * size;
    const ang = uni(0, 2 * Math.PI), mag = uni(0.5, 1) * amplitude;
    const k = 1 / (2 * (size / 7) ** 2);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const g = mag * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) * k);
        u[y * size + x] = g * Math.cos(ang);
        v[y * size + x] = g * Math.sin(ang);
      }
    }
  }
  const prev = new Float32Array(n), next = new Float32Array(n);
  const q8 = (t: number) => Math.min(255, Math.max(0, Math.round(t)));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      prev[i] = q8(tex(x + u[i], y + v[i]));
      next[i] = q8(tex(x, y));
    }
  }
  return { kind, width: size, height: size, prev, next, flow: { u, v } };
}

/**
 * Average end-point error `mean(‖(u, v) − (u*, v*)‖)` between two flows,
 * optionally ignoring a border of `margin` pixels.
 *
 * @param flow estimated flow
 * @param truth reference flow
 * @param width field width
 * @param height field height
 * @param margin pixels to skip on each side (default 0)
 * @returns the mean end-point error in pixels
 */
export function endPointError(
  flow: FlowField,
  truth: FlowField,
  width: number,
  height: number,
  margin = 0,
): number {
  const n = width * height;
  for (
    const [name, a] of [["flow.u", flow.u], ["flow.v", flow.v], [
      "truth.u",
      truth.u,
    ], ["truth.v", truth.v]] as const
  ) {
    if (a.length !== n) {
      throw new RangeError(
        `endPointError: ${name} has ${a.length} values, expected ${width}×${height} = ${n}`,
      );
    }
  }
  if (
    !Number.isInteger(margin) || margin < 0 ||
    2 * margin >= Math.min(width, height)
  ) {
    throw new RangeError(
      `endPointError: margin must be an integer in [0, ${
        Math.ceil(Math.min(width, height) / 2) - 1
      }], got ${margin}`,
    );
  }
  let s = 0;
  let c = 0;
  for (let y = margin; y < height - margin; y++) {
    for (let x = margin; x < width - margin; x++) {
      const i = y * width + x;
      s += Math.hypot(flow.u[i] - truth.u[i], flow.v[i] - truth.v[i]);
      c++;
    }
  }
  return s / c;
}
