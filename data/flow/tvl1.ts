/**
 * TV-L1 optical flow (Zach, Pock & Bischof 2007; Sánchez, Meinhardt-Llopis &
 * Facciolo 2013) following OpenCV's `cv::optflow::DualTVL1OpticalFlow`
 * (`opencv_contrib/modules/optflow/src/tvl1flow.cpp`) step by step:
 *
 * - pyramid: plain `resize(..., scaleStep, INTER_LINEAR)` of the previous
 *   level (OpenCV applies no Gaussian presmoothing), stopping before a level
 *   narrower or shorter than 16 pixels;
 * - per warp: centred gradient of I1, `remap(INTER_CUBIC, BORDER_CONSTANT)` of
 *   I1 and its gradient at `x + u` (1/32-pixel quantised maps), the constant
 *   part of the linearised residual;
 * - per outer iteration: 5×5 (or 3×3) median filter of the flow;
 * - per inner iteration: thresholding step (v), divergence of the dual
 *   variable (backward differences), primal update (u), forward-difference
 *   gradient and dual update (p); stop when Σ|Δu|² ≤ ε²·area;
 * - flow upsampled with bilinear resize and scaled by `1/scaleStep`.
 *
 * Every step is evaluated in float32 in OpenCV's order (products, sums,
 * divisions, `(float)hypot`, the sequential float32 stopping sum, remap's
 * 1/32-pixel map quantisation and tap order), so for OpenCV's 8-bit inputs
 * (integer-valued floats here) the flow is bit-identical to
 * `cv2.optflow.DualTVL1OpticalFlow` of OpenCV 4.6 (checked against fixtures,
 * `testdata/gen_opencv_fixture.py`). The inner iterations run in WebAssembly
 * SIMD (`tvl1_simd.wat`) when available, else in JavaScript; both give the
 * same bits.
 *
 * Images are grey, row-major float32 on the 0..255 scale. The flow maps
 * `prev(y, x) ≈ next(y + v, x + u)`.
 *
 * @module
 */

import {
  centeredGradient,
  CUBIC_TAB,
  medianBlur,
  remapCubic3,
  resizeLinear,
  scaledSize,
} from "./image_ops.ts";
import {
  dualRow,
  type KernelBuffers,
  type KernelParams,
  primalRow,
} from "./tvl1_kernels.ts";
import { tvl1Wasm, Tvl1WasmArena, type Tvl1WasmExports } from "./tvl1_wasm.ts";

/** A dense flow field: per-pixel horizontal (`u`) and vertical (`v`) motion. */
export interface FlowField {
  /** horizontal displacement in pixels, row-major. */
  u: Float32Array;
  /** vertical displacement in pixels, row-major. */
  v: Float32Array;
}

/** Parameters of TV-L1, named as OpenCV's `DualTVL1OpticalFlow` names them. */
export interface Tvl1Options {
  /** time step of the numerical scheme (> 0; ≤ 0.25 for convergence). */
  tau: number;
  /** weight of the data term (> 0); smaller gives smoother flow. */
  lambda: number;
  /** tightness of the coupling between u and v (> 0). */
  theta: number;
  /** number of pyramid scales (integer ≥ 1). */
  nscales: number;
  /** warpings per scale (integer ≥ 1). */
  warps: number;
  /** stopping threshold: Σ|Δu|² ≤ epsilon²·area ends the iterations (≥ 0). */
  epsilon: number;
  /** inner iterations per outer iteration (integer ≥ 1). */
  innerIterations: number;
  /** outer iterations (median filter between them) (integer ≥ 1). */
  outerIterations: number;
  /** pyramid scale factor, in (0, 1). */
  scaleStep: number;
  /** weight of the illumination-change term (≥ 0; 0 disables it). */
  gamma: number;
  /** median filter side applied to the flow: 0 or 1 (off), 3 or 5. */
  medianFiltering: number;
  /** start from `initialFlow` instead of zero. */
  useInitialFlow: boolean;
  /** initial flow, required when `useInitialFlow` is true. */
  initialFlow?: FlowField;
  /**
   * Inner-iteration kernels (not an OpenCV option): `"auto"` (default) runs
   * the WebAssembly SIMD kernels when the runtime supports them and γ = 0,
   * `"js"` the JavaScript ones. Both follow the same algorithm; they differ
   * in float rounding of intermediates only.
   */
  kernels?: "auto" | "js";
}

/** OpenCV's `DualTVL1OpticalFlow_create()` defaults. */
export const DEFAULT_TVL1_OPTIONS: Readonly<Tvl1Options> = Object.freeze({
  tau: 0.25,
  lambda: 0.15,
  theta: 0.3,
  nscales: 5,
  warps: 5,
  epsilon: 0.01,
  innerIterations: 30,
  outerIterations: 10,
  scaleStep: 0.8,
  gamma: 0,
  medianFiltering: 5,
  useInitialFlow: false,
});

const KNOWN_OPTIONS = new Set([
  ...Object.keys(DEFAULT_TVL1_OPTIONS),
  "initialFlow",
  "kernels",
]);

function fail(name: string, value: unknown, rule: string): never {
  throw new RangeError(
    `tvl1Flow: option "${name}" must be ${rule}, got ${String(value)}`,
  );
}

function positive(name: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    fail(name, v, "a finite number > 0");
  }
}

function nonNegative(name: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    fail(name, v, "a finite number ≥ 0");
  }
}

function positiveInt(name: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    fail(name, v, "an integer ≥ 1");
  }
}

/**
 * Merge `options` over {@link DEFAULT_TVL1_OPTIONS} and validate every field,
 * throwing a `RangeError` that names the offending option and value.
 *
 * @param options overrides
 * @returns the complete, validated options
 */
export function resolveTvl1Options(
  options: Partial<Tvl1Options> = {},
): Tvl1Options {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `tvl1Flow: options must be an object, got ${String(options)}`,
    );
  }
  for (const k of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(k)) {
      throw new RangeError(
        `tvl1Flow: unknown option "${k}" (known: ${
          [...KNOWN_OPTIONS].join(", ")
        })`,
      );
    }
  }
  const o: Tvl1Options = { ...DEFAULT_TVL1_OPTIONS, ...options };
  positive("tau", o.tau);
  positive("lambda", o.lambda);
  positive("theta", o.theta);
  positiveInt("nscales", o.nscales);
  positiveInt("warps", o.warps);
  nonNegative("epsilon", o.epsilon);
  positiveInt("innerIterations", o.innerIterations);
  positiveInt("outerIterations", o.outerIterations);
  if (
    typeof o.scaleStep !== "number" || !(o.scaleStep > 0 && o.scaleStep < 1)
  ) {
    fail("scaleStep", o.scaleStep, "a number in (0, 1)");
  }
  nonNegative("gamma", o.gamma);
  if (![0, 1, 3, 5].includes(o.medianFiltering)) {
    fail("medianFiltering", o.medianFiltering, "0 or 1 (off), 3 or 5");
  }
  if (typeof o.useInitialFlow !== "boolean") {
    fail("useInitialFlow", o.useInitialFlow, "a boolean");
  }
  if (o.kernels !== undefined && o.kernels !== "auto" && o.kernels !== "js") {
    fail("kernels", o.kernels, `"auto" or "js"`);
  }
  if (o.useInitialFlow && !o.initialFlow) {
    fail("initialFlow", o.initialFlow, "given when useInitialFlow is true");
  }
  return o;
}

function checkImage(
  name: string,
  img: unknown,
  width: number,
  height: number,
): asserts img is Float32Array {
  if (!(img instanceof Float32Array)) {
    throw new TypeError(`tvl1Flow: ${name} must be a Float32Array`);
  }
  if (img.length !== width * height) {
    throw new RangeError(
      `tvl1Flow: ${name} has ${img.length} values, expected width×height = ` +
        `${width}×${height} = ${width * height}`,
    );
  }
  for (let i = 0; i < img.length; i++) {
    if (!Number.isFinite(img[i])) {
      throw new RangeError(
        `tvl1Flow: ${name} has a non-finite value ${img[i]} at index ${i} ` +
          `(x=${i % width}, y=${Math.floor(i / width)})`,
      );
    }
  }
}

/**
 * Working buffers of the finest level, reused (as sub-ranges) at all scales;
 * the dual variables `p` have one zero row and column of padding.
 */
class Workspace {
  /** copies of the level's images for the WebAssembly warp (else empty). */
  readonly i0: Float32Array;
  readonly i1: Float32Array;
  readonly i1x: Float32Array;
  readonly i1y: Float32Array;
  readonly i1w: Float32Array;
  readonly i1wx: Float32Array;
  readonly i1wy: Float32Array;
  readonly grad: Float32Array;
  readonly rho: Float32Array;
  /** flow buffers the WebAssembly kernels work on (copied in and out). */
  readonly u1: Float32Array;
  readonly u2: Float32Array;
  readonly p11: Float32Array;
  readonly p12: Float32Array;
  readonly p21: Float32Array;
  readonly p22: Float32Array;
  readonly p31: Float32Array;
  readonly p32: Float32Array;
  readonly scratch: Float32Array;
  /** the WebAssembly kernels, or null for the JavaScript ones. */
  readonly wasm: Tvl1WasmExports | null;
  /**
   * byte offsets of i1wx, i1wy, grad, rho, u1, u2, p11, p12, p21, p22, of
   * the median's scratch, padded copy and sorted columns, and of the warp's
   * I0, I1, ∂I1/∂x, ∂I1/∂y, warped I1 and weight table.
   */
  readonly offsets: number[] = [];
  constructor(width: number, height: number, gamma: boolean, wasm: boolean) {
    const n = width * height;
    const np = (width + 1) * (height + 1);
    this.scratch = new Float32Array(n);
    this.p31 = new Float32Array(gamma ? np : 0);
    this.p32 = new Float32Array(gamma ? np : 0);
    const mod = wasm && !gamma ? tvl1Wasm() : null;
    this.wasm = mod;
    const sizes = [
      ...[n, n, n, n, n, n, np, np, np, np],
      // median: scratch copy, border-padded copy, sorted columns
      ...[n, (width + 12) * (height + 4), 5 * (width + 12)],
      // warp: I0, I1, ∂I1/∂x, ∂I1/∂y, warped I1, bicubic weight table
      ...[n, n, n, n, n, CUBIC_TAB.length],
    ];
    let v: Float32Array[];
    if (mod) {
      const arena = new Tvl1WasmArena(mod, sizes);
      v = arena.views;
      this.offsets = arena.offsets;
      v[18].set(CUBIC_TAB);
      [this.i0, this.i1, this.i1x, this.i1y, this.i1w] = v.slice(13, 18);
    } else {
      v = sizes.slice(0, 10).map((k) => new Float32Array(k));
      this.i0 = this.i1 = new Float32Array(0);
      [this.i1x, this.i1y, this.i1w] = [0, 1, 2].map(() => new Float32Array(n));
    }
    [
      this.i1wx,
      this.i1wy,
      this.grad,
      this.rho,
      this.u1,
      this.u2,
      this.p11,
      this.p12,
      this.p21,
      this.p22,
    ] = v;
  }
}

const FLT_MAX = 3.4028234663852886e38;

/** TV-L1 at one pyramid level (OpenCV's `procOneScale`); updates u in place. */
function procOneScale(
  i0: Float32Array,
  i1: Float32Array,
  u1out: Float32Array,
  u2out: Float32Array,
  u3: Float32Array | null,
  w: number,
  h: number,
  o: Tvl1Options,
  ws: Workspace,
): void {
  const n = w * h;
  const np = (w + 1) * (h + 1);
  const scaledEpsilon = Math.fround(o.epsilon * o.epsilon * n);
  const sub = (a: Float32Array, len = n) => a.subarray(0, len);
  const i1x = sub(ws.i1x), i1y = sub(ws.i1y);
  const i1w = sub(ws.i1w), i1wx = sub(ws.i1wx), i1wy = sub(ws.i1wy);
  const grad = sub(ws.grad), rho = sub(ws.rho);
  const useGamma = u3 !== null;
  const wasm = ws.wasm;
  // The WebAssembly kernels work on the flow inside their memory.
  const u1 = wasm ? sub(ws.u1) : u1out;
  const u2 = wasm ? sub(ws.u2) : u2out;
  if (wasm) {
    u1.set(u1out);
    u2.set(u2out);
  }
  const b: KernelBuffers = {
    i1wx,
    i1wy,
    grad,
    rho,
    u1,
    u2,
    u3: u3 ?? ws.p31,
    p11: sub(ws.p11, np),
    p12: sub(ws.p12, np),
    p21: sub(ws.p21, np),
    p22: sub(ws.p22, np),
    p31: useGamma ? sub(ws.p31, np) : ws.p31,
    p32: useGamma ? sub(ws.p32, np) : ws.p32,
  };
  if (wasm) {
    // the warp runs inside the module: the level's images go in once
    sub(ws.i0).set(i0);
    sub(ws.i1).set(i1);
  }
  centeredGradient(i1, w, h, i1x, i1y);
  b.p11.fill(0);
  b.p12.fill(0);
  b.p21.fill(0);
  b.p22.fill(0);
  b.p31.fill(0);
  b.p32.fill(0);
  const k: KernelParams = {
    w,
    h,
    lt: Math.fround(o.lambda * o.theta),
    theta: Math.fround(o.theta),
    taut: Math.fround(o.tau / o.theta),
    gamma: Math.fround(o.gamma),
  };
  const primal = primalRow;
  const fr = Math.fround;
  if (wasm) {
    wasm.setup(w, h, k.lt, k.theta, k.taut, ...ws.offsets.slice(0, 10));
  }

  for (let warp = 0; warp < o.warps; warp++) {
    if (wasm) {
      wasm.warp(...ws.offsets.slice(13, 19));
    } else {
      remapCubic3(i1, i1x, i1y, u1, u2, w, h, i1w, i1wx, i1wy);
      for (let i = 0; i < n; i++) {
        const ix = i1wx[i], iy = i1wy[i];
        grad[i] = fr(ix * ix) + fr(iy * iy);
        rho[i] = fr(fr(fr(i1w[i] - fr(ix * u1[i])) - fr(iy * u2[i])) - i0[i]);
      }
    }
    let error = FLT_MAX;
    for (
      let outer = 0;
      error > scaledEpsilon && outer < o.outerIterations;
      outer++
    ) {
      if (wasm && o.medianFiltering === 5) {
        const [src, pad, cols] = ws.offsets.slice(10);
        const scratch = new Float32Array(wasm.memory.buffer, src, n);
        scratch.set(u1);
        wasm.median5(src, ws.offsets[4], w, h, pad, cols);
        scratch.set(u2);
        wasm.median5(src, ws.offsets[5], w, h, pad, cols);
      } else if (o.medianFiltering > 1) {
        medianBlur(u1, w, h, o.medianFiltering, u1, ws.scratch);
        medianBlur(u2, w, h, o.medianFiltering, u2, ws.scratch);
      }
      // OpenCV's inner iteration is primal(n) then dual(n). Here dual(n) and
      // primal(n + 1) share one sweep over the rows (dual of row y only
      // needs flow rows y and y + 1, primal of row y only needs dual rows y
      // and y − 1), when iteration n + 1 is going to run.
      if (wasm) {
        error = wasm.sweep(2);
        for (let inner = 1;; inner++) {
          if (error > scaledEpsilon && inner < o.innerIterations) {
            error = wasm.sweep(3);
          } else {
            wasm.sweep(1);
            break;
          }
        }
        continue;
      }
      error = 0;
      for (let y = 0; y < h; y++) error = primal(y, k, b, error);
      for (let inner = 1;; inner++) {
        if (error > scaledEpsilon && inner < o.innerIterations) {
          error = 0;
          for (let y = 0; y < h; y++) {
            dualRow(y, k, b);
            error = primal(y, k, b, error);
          }
        } else {
          for (let y = 0; y < h; y++) dualRow(y, k, b);
          break;
        }
      }
    }
  }
  if (wasm) {
    u1out.set(u1);
    u2out.set(u2);
  }
}

/**
 * Dense TV-L1 optical flow from `prev` to `next` with OpenCV DualTVL1
 * semantics (see the module doc), such that `prev(y, x) ≈ next(y + v, x + u)`.
 *
 * @param prev first grey image, row-major float32, 0..255 scale
 * @param next second grey image, same size
 * @param width image width in pixels (≥ 3)
 * @param height image height in pixels (≥ 3)
 * @param options overrides of {@link DEFAULT_TVL1_OPTIONS}
 * @returns the flow field (`u` horizontal, `v` vertical), row-major
 *
 * @example
 * ```ts
 * const { u, v } = tvl1Flow(onset, apex, 224, 224);
 * ```
 */
export function tvl1Flow(
  prev: Float32Array,
  next: Float32Array,
  width: number,
  height: number,
  options: Partial<Tvl1Options> = {},
): FlowField {
  if (!Number.isInteger(width) || width < 3) {
    throw new RangeError(
      `tvl1Flow: width must be an integer ≥ 3, got ${width}`,
    );
  }
  if (!Number.isInteger(height) || height < 3) {
    throw new RangeError(
      `tvl1Flow: height must be an integer ≥ 3, got ${height}`,
    );
  }
  checkImage("prev", prev, width, height);
  checkImage("next", next, width, height);
  const o = resolveTvl1Options(options);
  const useGamma = o.gamma !== 0;

  const I0s: Float32Array[] = [prev.slice()];
  const I1s: Float32Array[] = [next.slice()];
  const ws: number[] = [width];
  const hs: number[] = [height];
  const u1s: Float32Array[] = [new Float32Array(width * height)];
  const u2s: Float32Array[] = [new Float32Array(width * height)];
  if (o.useInitialFlow) {
    const f = o.initialFlow!;
    if (
      !(f.u instanceof Float32Array) || !(f.v instanceof Float32Array) ||
      f.u.length !== width * height || f.v.length !== width * height
    ) {
      fail(
        "initialFlow",
        `{u: ${f.u?.length}, v: ${f.v?.length}}`,
        `two Float32Arrays of width×height = ${width * height} values`,
      );
    }
    u1s[0].set(f.u);
    u2s[0].set(f.v);
  }
  let nscales = o.nscales;
  const inv = 1 / o.scaleStep;
  for (let s = 1; s < nscales; s++) {
    const sw = scaledSize(ws[s - 1], o.scaleStep);
    const sh = scaledSize(hs[s - 1], o.scaleStep);
    if (sw < 16 || sh < 16) {
      nscales = s;
      break;
    }
    I0s.push(resizeLinear(I0s[s - 1], ws[s - 1], hs[s - 1], sw, sh, inv, inv));
    I1s.push(resizeLinear(I1s[s - 1], ws[s - 1], hs[s - 1], sw, sh, inv, inv));
    ws.push(sw);
    hs.push(sh);
    if (o.useInitialFlow) {
      const k = Math.fround(o.scaleStep);
      const a = resizeLinear(
        u1s[s - 1],
        ws[s - 1],
        hs[s - 1],
        sw,
        sh,
        inv,
        inv,
      );
      const b = resizeLinear(
        u2s[s - 1],
        ws[s - 1],
        hs[s - 1],
        sw,
        sh,
        inv,
        inv,
      );
      for (let i = 0; i < a.length; i++) {
        a[i] *= k;
        b[i] *= k;
      }
      u1s.push(a);
      u2s.push(b);
    } else {
      u1s.push(new Float32Array(sw * sh));
      u2s.push(new Float32Array(sw * sh));
    }
  }

  const work = new Workspace(width, height, useGamma, o.kernels !== "js");
  let u3: Float32Array | null = useGamma
    ? new Float32Array(ws[nscales - 1] * hs[nscales - 1])
    : null;
  const up = Math.fround(1 / o.scaleStep);
  for (let s = nscales - 1; s >= 0; s--) {
    procOneScale(I0s[s], I1s[s], u1s[s], u2s[s], u3, ws[s], hs[s], o, work);
    if (s === 0) break;
    const dw = ws[s - 1], dh = hs[s - 1];
    // Explicit destination size: OpenCV's scale is 1 / (dst / src).
    resizeLinear(
      u1s[s],
      ws[s],
      hs[s],
      dw,
      dh,
      1 / (dw / ws[s]),
      1 / (dh / hs[s]),
      u1s[s - 1],
    );
    resizeLinear(
      u2s[s],
      ws[s],
      hs[s],
      dw,
      dh,
      1 / (dw / ws[s]),
      1 / (dh / hs[s]),
      u2s[s - 1],
    );
    if (u3 !== null) {
      u3 = resizeLinear(u3, ws[s], hs[s], dw, dh);
    }
    const t1 = u1s[s - 1], t2 = u2s[s - 1];
    for (let i = 0; i < t1.length; i++) {
      t1[i] *= up;
      t2[i] *= up;
    }
  }
  return { u: u1s[0], v: u2s[0] };
}
