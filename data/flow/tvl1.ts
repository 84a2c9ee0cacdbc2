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
 * Images are grey, row-major float32 on the 0..255 scale. The flow maps
 * `prev(y, x) ≈ next(y + v, x + u)`.
 *
 * @module
 */

import {
  centeredGradient,
  medianBlur,
  remapCubic3,
  resizeLinear,
  scaledSize,
} from "./image_ops.ts";

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

/** Working buffers of the finest level, reused (as sub-ranges) at all scales. */
class Workspace {
  readonly i1x: Float32Array;
  readonly i1y: Float32Array;
  readonly i1w: Float32Array;
  readonly i1wx: Float32Array;
  readonly i1wy: Float32Array;
  readonly grad: Float32Array;
  readonly rho: Float32Array;
  readonly p11: Float32Array;
  readonly p12: Float32Array;
  readonly p21: Float32Array;
  readonly p22: Float32Array;
  readonly p31: Float32Array;
  readonly p32: Float32Array;
  readonly scratch: Float32Array;
  constructor(n: number, gamma: boolean) {
    this.i1x = new Float32Array(n);
    this.i1y = new Float32Array(n);
    this.i1w = new Float32Array(n);
    this.i1wx = new Float32Array(n);
    this.i1wy = new Float32Array(n);
    this.grad = new Float32Array(n);
    this.rho = new Float32Array(n);
    this.p11 = new Float32Array(n);
    this.p12 = new Float32Array(n);
    this.p21 = new Float32Array(n);
    this.p22 = new Float32Array(n);
    this.p31 = new Float32Array(gamma ? n : 0);
    this.p32 = new Float32Array(gamma ? n : 0);
    this.scratch = new Float32Array(n);
  }
}

const FLT_EPSILON = 1.1920928955078125e-7;
const FLT_MAX = 3.4028234663852886e38;

/**
 * Thresholding step, divergence of p and primal update, fused in one pass
 * (OpenCV's `estimateV`, `divergence`, `estimateU`). Returns Σ|Δu|² summed in
 * float32 row-major order as OpenCV does.
 */
function primalStep(
  w: number,
  h: number,
  i1wx: Float32Array,
  i1wy: Float32Array,
  grad: Float32Array,
  rho: Float32Array,
  p11: Float32Array,
  p12: Float32Array,
  p21: Float32Array,
  p22: Float32Array,
  u1: Float32Array,
  u2: Float32Array,
  lt: number,
  theta: number,
): number {
  let error = 0;
  const fr = Math.fround;
  for (let y = 0; y < h; y++) {
    const r = y * w;
    for (let x = 0; x < w; x++) {
      const i = r + x;
      const ix = i1wx[i];
      const iy = i1wy[i];
      const u1k = u1[i];
      const u2k = u2[i];
      const g = grad[i];
      const rh = rho[i] + (ix * u1k + iy * u2k);
      const ltg = lt * g;
      let d1 = 0, d2 = 0;
      if (rh < -ltg) {
        d1 = lt * ix;
        d2 = lt * iy;
      } else if (rh > ltg) {
        d1 = -lt * ix;
        d2 = -lt * iy;
      } else if (g > FLT_EPSILON) {
        const fi = -rh / g;
        d1 = fi * ix;
        d2 = fi * iy;
      }
      let div1 = p11[i];
      let div2 = p21[i];
      if (x > 0) {
        div1 -= p11[i - 1];
        div2 -= p21[i - 1];
      }
      div1 += p12[i];
      div2 += p22[i];
      if (y > 0) {
        div1 -= p12[i - w];
        div2 -= p22[i - w];
      }
      const n1 = fr(fr(u1k + d1) + theta * fr(div1));
      const n2 = fr(fr(u2k + d2) + theta * fr(div2));
      u1[i] = n1;
      u2[i] = n2;
      const e1 = n1 - u1k;
      const e2 = n2 - u2k;
      error = fr(error + fr(fr(e1 * e1) + fr(e2 * e2)));
    }
  }
  return error;
}

/** Same as {@link primalStep} with the illumination term (gamma ≠ 0). */
function primalStepGamma(
  w: number,
  h: number,
  i1wx: Float32Array,
  i1wy: Float32Array,
  grad: Float32Array,
  rho: Float32Array,
  p11: Float32Array,
  p12: Float32Array,
  p21: Float32Array,
  p22: Float32Array,
  p31: Float32Array,
  p32: Float32Array,
  u1: Float32Array,
  u2: Float32Array,
  u3: Float32Array,
  lt: number,
  theta: number,
  gamma: number,
): number {
  let error = 0;
  const fr = Math.fround;
  for (let y = 0; y < h; y++) {
    const r = y * w;
    for (let x = 0; x < w; x++) {
      const i = r + x;
      const ix = i1wx[i];
      const iy = i1wy[i];
      const u1k = u1[i];
      const u2k = u2[i];
      const u3k = u3[i];
      const g = grad[i];
      const rh = rho[i] + (ix * u1k + iy * u2k) + gamma * u3k;
      const ltg = lt * g;
      let d1 = 0, d2 = 0, d3 = 0;
      if (rh < -ltg) {
        d1 = lt * ix;
        d2 = lt * iy;
        d3 = lt * gamma;
      } else if (rh > ltg) {
        d1 = -lt * ix;
        d2 = -lt * iy;
        d3 = -lt * gamma;
      } else if (g > FLT_EPSILON) {
        const fi = -rh / g;
        d1 = fi * ix;
        d2 = fi * iy;
        d3 = fi * gamma;
      }
      let div1 = p11[i], div2 = p21[i], div3 = p31[i];
      if (x > 0) {
        div1 -= p11[i - 1];
        div2 -= p21[i - 1];
        div3 -= p31[i - 1];
      }
      div1 += p12[i];
      div2 += p22[i];
      div3 += p32[i];
      if (y > 0) {
        div1 -= p12[i - w];
        div2 -= p22[i - w];
        div3 -= p32[i - w];
      }
      const n1 = fr(fr(u1k + d1) + theta * fr(div1));
      const n2 = fr(fr(u2k + d2) + theta * fr(div2));
      const n3 = fr(fr(u3k + d3) + theta * fr(div3));
      u1[i] = n1;
      u2[i] = n2;
      u3[i] = n3;
      const e1 = n1 - u1k, e2 = n2 - u2k, e3 = n3 - u3k;
      error = fr(error + fr(fr(fr(e1 * e1) + fr(e2 * e2)) + fr(e3 * e3)));
    }
  }
  return error;
}

/**
 * Forward-difference gradient of u and the dual update of p, fused
 * (OpenCV's `forwardGradient` + `estimateDualVariables`).
 */
function dualStep(
  w: number,
  h: number,
  u: Float32Array,
  pa: Float32Array,
  pb: Float32Array,
  taut: number,
): void {
  const lc = w - 1;
  const lr = h - 1;
  for (let y = 0; y < h; y++) {
    const r = y * w;
    const hasDown = y < lr;
    for (let x = 0; x < w; x++) {
      const i = r + x;
      const ui = u[i];
      const ux = x < lc ? u[i + 1] - ui : 0;
      const uy = hasDown ? u[i + w] - ui : 0;
      const ng = 1 + taut * Math.fround(Math.sqrt(ux * ux + uy * uy));
      pa[i] = (pa[i] + taut * ux) / ng;
      pb[i] = (pb[i] + taut * uy) / ng;
    }
  }
}

/** Two flow components at once (the common case), one pass over memory. */
function dualStep2(
  w: number,
  h: number,
  u1: Float32Array,
  u2: Float32Array,
  p11: Float32Array,
  p12: Float32Array,
  p21: Float32Array,
  p22: Float32Array,
  taut: number,
): void {
  const lc = w - 1;
  const lr = h - 1;
  const fr = Math.fround;
  for (let y = 0; y < h; y++) {
    const r = y * w;
    const hasDown = y < lr;
    for (let x = 0; x < w; x++) {
      const i = r + x;
      const a = u1[i];
      const b = u2[i];
      let ax = 0, ay = 0, bx = 0, by = 0;
      if (x < lc) {
        ax = fr(u1[i + 1] - a);
        bx = fr(u2[i + 1] - b);
      }
      if (hasDown) {
        ay = fr(u1[i + w] - a);
        by = fr(u2[i + w] - b);
      }
      const ng1 = fr(1 + fr(taut * fr(Math.sqrt(ax * ax + ay * ay))));
      const ng2 = fr(1 + fr(taut * fr(Math.sqrt(bx * bx + by * by))));
      p11[i] = fr(p11[i] + fr(taut * ax)) / ng1;
      p12[i] = fr(p12[i] + fr(taut * ay)) / ng1;
      p21[i] = fr(p21[i] + fr(taut * bx)) / ng2;
      p22[i] = fr(p22[i] + fr(taut * by)) / ng2;
    }
  }
}

/** TV-L1 at one pyramid level (OpenCV's `procOneScale`); updates u in place. */
function procOneScale(
  i0: Float32Array,
  i1: Float32Array,
  u1: Float32Array,
  u2: Float32Array,
  u3: Float32Array | null,
  w: number,
  h: number,
  o: Tvl1Options,
  ws: Workspace,
): void {
  const n = w * h;
  const scaledEpsilon = Math.fround(o.epsilon * o.epsilon * n);
  const sub = (a: Float32Array) => a.subarray(0, n);
  const i1x = sub(ws.i1x), i1y = sub(ws.i1y);
  const i1w = sub(ws.i1w), i1wx = sub(ws.i1wx), i1wy = sub(ws.i1wy);
  const grad = sub(ws.grad), rho = sub(ws.rho);
  const p11 = sub(ws.p11), p12 = sub(ws.p12);
  const p21 = sub(ws.p21), p22 = sub(ws.p22);
  const useGamma = u3 !== null;
  const p31 = useGamma ? sub(ws.p31) : ws.p31;
  const p32 = useGamma ? sub(ws.p32) : ws.p32;
  centeredGradient(i1, w, h, i1x, i1y);
  p11.fill(0);
  p12.fill(0);
  p21.fill(0);
  p22.fill(0);
  if (useGamma) {
    p31.fill(0);
    p32.fill(0);
  }
  const lt = Math.fround(o.lambda * o.theta);
  const taut = Math.fround(o.tau / o.theta);
  const theta = Math.fround(o.theta);
  const gamma = Math.fround(o.gamma);
  const fr = Math.fround;

  for (let warp = 0; warp < o.warps; warp++) {
    remapCubic3(i1, i1x, i1y, u1, u2, w, h, i1w, i1wx, i1wy);
    for (let i = 0; i < n; i++) {
      const ix = i1wx[i], iy = i1wy[i];
      grad[i] = fr(ix * ix) + fr(iy * iy);
      rho[i] = fr(fr(fr(i1w[i] - fr(ix * u1[i])) - fr(iy * u2[i])) - i0[i]);
    }
    let error = FLT_MAX;
    for (
      let outer = 0;
      error > scaledEpsilon && outer < o.outerIterations;
      outer++
    ) {
      if (o.medianFiltering > 1) {
        medianBlur(u1, w, h, o.medianFiltering, u1, ws.scratch);
        medianBlur(u2, w, h, o.medianFiltering, u2, ws.scratch);
      }
      for (
        let inner = 0;
        error > scaledEpsilon && inner < o.innerIterations;
        inner++
      ) {
        if (u3 === null) {
          error = primalStep(
            w,
            h,
            i1wx,
            i1wy,
            grad,
            rho,
            p11,
            p12,
            p21,
            p22,
            u1,
            u2,
            lt,
            theta,
          );
          dualStep2(w, h, u1, u2, p11, p12, p21, p22, taut);
        } else {
          error = primalStepGamma(
            w,
            h,
            i1wx,
            i1wy,
            grad,
            rho,
            p11,
            p12,
            p21,
            p22,
            p31,
            p32,
            u1,
            u2,
            u3,
            lt,
            theta,
            gamma,
          );
          dualStep2(w, h, u1, u2, p11, p12, p21, p22, taut);
          dualStep(w, h, u3, p31, p32, taut);
        }
      }
    }
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

  const work = new Workspace(width * height, useGamma);
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
