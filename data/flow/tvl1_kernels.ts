/**
 * Inner-loop kernels of TV-L1 (OpenCV `tvl1flow.cpp`'s `estimateV`,
 * `divergence`, `estimateU`, `forwardGradient`, `estimateDualVariables`),
 * one image row at a time so that the driver can fuse the dual update of an
 * iteration with the primal update of the next one in a single sweep.
 *
 * Layout: flow `u` and per-pixel data are `w × h` row-major. The dual
 * variables `p` are stored with one zero column on the left and one zero row
 * on top (stride `w + 1`, pixel `(x, y)` at `(y + 1)(w + 1) + x + 1`), which
 * turns OpenCV's border cases of the divergence into the interior formula.
 * Values are stored as float32 like OpenCV's, but intermediates are
 * evaluated in float64 (rounding `Math.fround`-style at every step cost a
 * third of the time), the Σ|Δu|² stopping sum is accumulated in float64, and
 * the dual update multiplies by a reciprocal instead of dividing twice: all
 * last-bit differences from OpenCV's float32 arithmetic.
 *
 * @module
 */

const FLT_EPSILON = 1.1920928955078125e-7;

/** Constants shared by the row kernels of one pyramid level. */
export interface KernelParams {
  /** image width. */
  w: number;
  /** image height. */
  h: number;
  /** λ·θ (float32). */
  lt: number;
  /** θ (float32). */
  theta: number;
  /** τ/θ (float32). */
  taut: number;
  /** γ (float32), 0 when the illumination term is off. */
  gamma: number;
}

/** Per-level buffers the row kernels read and write. */
export interface KernelBuffers {
  /** warped ∂I1/∂x. */
  i1wx: Float32Array;
  /** warped ∂I1/∂y. */
  i1wy: Float32Array;
  /** |∇I1(x + u0)|². */
  grad: Float32Array;
  /** constant part of the residual ρ. */
  rho: Float32Array;
  /** flow x. */
  u1: Float32Array;
  /** flow y. */
  u2: Float32Array;
  /** illumination variable (length 0 when γ = 0). */
  u3: Float32Array;
  /** dual of u1, x part (padded). */
  p11: Float32Array;
  /** dual of u1, y part (padded). */
  p12: Float32Array;
  /** dual of u2, x part (padded). */
  p21: Float32Array;
  /** dual of u2, y part (padded). */
  p22: Float32Array;
  /** dual of u3, x part (padded; length 0 when γ = 0). */
  p31: Float32Array;
  /** dual of u3, y part (padded; length 0 when γ = 0). */
  p32: Float32Array;
}

/**
 * Thresholding step, divergence of p and primal update of row `y`
 * (γ = 0). Returns `error` plus this row's Σ|Δu|² (Δ of the stored float32
 * values).
 */
export function primalRow(
  y: number,
  k: KernelParams,
  b: KernelBuffers,
  error: number,
): number {
  const { w, lt, theta } = k;
  const { i1wx, i1wy, grad, rho, u1, u2, p11, p12, p21, p22 } = b;
  const W = w + 1;
  const mlt = -lt;
  let i = y * w;
  let j = (y + 1) * W + 1;
  for (let x = 0; x < w; x++, i++, j++) {
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
      d1 = mlt * ix;
      d2 = mlt * iy;
    } else if (g > FLT_EPSILON) {
      const fi = -rh / g;
      d1 = fi * ix;
      d2 = fi * iy;
    }
    u1[i] = u1k + d1 + theta * (p11[j] - p11[j - 1] + p12[j] - p12[j - W]);
    u2[i] = u2k + d2 + theta * (p21[j] - p21[j - 1] + p22[j] - p22[j - W]);
    const e1 = u1[i] - u1k;
    const e2 = u2[i] - u2k;
    error += e1 * e1 + e2 * e2;
  }
  return error;
}

/** {@link primalRow} with the illumination term (γ ≠ 0). */
export function primalRowGamma(
  y: number,
  k: KernelParams,
  b: KernelBuffers,
  error: number,
): number {
  const { w, lt, theta, gamma } = k;
  const { i1wx, i1wy, grad, rho, u1, u2, u3, p11, p12, p21, p22, p31, p32 } =
    b;
  const W = w + 1;
  const mlt = -lt;
  let i = y * w;
  let j = (y + 1) * W + 1;
  for (let x = 0; x < w; x++, i++, j++) {
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
      d1 = mlt * ix;
      d2 = mlt * iy;
      d3 = mlt * gamma;
    } else if (g > FLT_EPSILON) {
      const fi = -rh / g;
      d1 = fi * ix;
      d2 = fi * iy;
      d3 = fi * gamma;
    }
    u1[i] = u1k + d1 + theta * (p11[j] - p11[j - 1] + p12[j] - p12[j - W]);
    u2[i] = u2k + d2 + theta * (p21[j] - p21[j - 1] + p22[j] - p22[j - W]);
    u3[i] = u3k + d3 + theta * (p31[j] - p31[j - 1] + p32[j] - p32[j - W]);
    const e1 = u1[i] - u1k, e2 = u2[i] - u2k, e3 = u3[i] - u3k;
    error += e1 * e1 + e2 * e2 + e3 * e3;
  }
  return error;
}

/** Forward gradient of one flow component and dual update, row `y`. */
function dualRow1(
  y: number,
  w: number,
  h: number,
  u: Float32Array,
  pa: Float32Array,
  pb: Float32Array,
  taut: number,
): void {
  const W = w + 1;
  let i = y * w;
  let j = (y + 1) * W + 1;
  const down = y < h - 1 ? w : 0;
  for (let x = 0; x < w; x++, i++, j++) {
    const a = u[i];
    const ax = x < w - 1 ? u[i + 1] - a : 0;
    const ay = down ? u[i + down] - a : 0;
    const inv = 1 / (1 + taut * Math.sqrt(ax * ax + ay * ay));
    pa[j] = (pa[j] + taut * ax) * inv;
    pb[j] = (pb[j] + taut * ay) * inv;
  }
}

/**
 * Forward-difference gradient of (u1, u2) (and u3 when γ ≠ 0) and the dual
 * update of p, row `y`. Reads flow rows `y` and `y + 1`.
 */
export function dualRow(
  y: number,
  k: KernelParams,
  b: KernelBuffers,
): void {
  const { w, h, taut } = k;
  const { u1, u2, p11, p12, p21, p22 } = b;
  const W = w + 1;
  let i = y * w;
  let j = (y + 1) * W + 1;
  const last = w - 1;
  if (y < h - 1) {
    for (let x = 0; x < last; x++, i++, j++) {
      const a = u1[i];
      const c = u2[i];
      const ax = u1[i + 1] - a;
      const ay = u1[i + w] - a;
      const cx = u2[i + 1] - c;
      const cy = u2[i + w] - c;
      const inv1 = 1 / (1 + taut * Math.sqrt(ax * ax + ay * ay));
      const inv2 = 1 / (1 + taut * Math.sqrt(cx * cx + cy * cy));
      p11[j] = (p11[j] + taut * ax) * inv1;
      p12[j] = (p12[j] + taut * ay) * inv1;
      p21[j] = (p21[j] + taut * cx) * inv2;
      p22[j] = (p22[j] + taut * cy) * inv2;
    }
    // last column: no right neighbour (forward x-difference is 0)
    const ay = u1[i + w] - u1[i];
    const cy = u2[i + w] - u2[i];
    const inv1 = 1 / (1 + taut * Math.abs(ay));
    const inv2 = 1 / (1 + taut * Math.abs(cy));
    p11[j] = p11[j] * inv1;
    p12[j] = (p12[j] + taut * ay) * inv1;
    p21[j] = p21[j] * inv2;
    p22[j] = (p22[j] + taut * cy) * inv2;
  } else {
    dualRow1(y, w, h, u1, p11, p12, taut);
    dualRow1(y, w, h, u2, p21, p22, taut);
  }
  if (k.gamma !== 0) dualRow1(y, w, h, b.u3, b.p31, b.p32, taut);
}
