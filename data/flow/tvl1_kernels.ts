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
 * Every operation is rounded to float32 (`Math.fround`) in OpenCV's order,
 * so these kernels give the same bits as OpenCV's scalar code and as the
 * WebAssembly SIMD kernels of `tvl1_simd.wat` (which are faster and used
 * when available; `scripts/bench/README`).
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
 * Divergence of (pa, pb) at padded index `j` in float32, with OpenCV's
 * association: `(pa[j] − pa[j−1]) + (pb[j] − pb[j−W])`, and in the first
 * column `(pa[j] + pb[j]) − pb[j−W]`.
 */
function div(
  pa: Float32Array,
  pb: Float32Array,
  j: number,
  W: number,
  first: boolean,
): number {
  const fr = Math.fround;
  return first
    ? fr(fr(pa[j] + pb[j]) - pb[j - W])
    : fr(fr(pa[j] - pa[j - 1]) + fr(pb[j] - pb[j - W]));
}

/**
 * Thresholding step, divergence of p and primal update of row `y`, for
 * (u1, u2) and, when γ ≠ 0, u3. Returns `error` plus this row's Σ|Δu|²,
 * summed in float32 in row-major order as OpenCV does.
 */
export function primalRow(
  y: number,
  k: KernelParams,
  b: KernelBuffers,
  error: number,
): number {
  const { w, lt, theta, gamma } = k;
  const { i1wx, i1wy, grad, rho, u1, u2, u3, p11, p12, p21, p22, p31, p32 } = b;
  const useGamma = gamma !== 0;
  const W = w + 1;
  const fr = Math.fround;
  const mlt = -lt;
  let i = y * w;
  let j = (y + 1) * W + 1;
  for (let x = 0; x < w; x++, i++, j++) {
    const ix = i1wx[i];
    const iy = i1wy[i];
    const u1k = u1[i];
    const u2k = u2[i];
    const u3k = useGamma ? u3[i] : 0;
    const g = grad[i];
    let rh = fr(rho[i] + fr(fr(ix * u1k) + fr(iy * u2k)));
    if (useGamma) rh = fr(rh + fr(gamma * u3k));
    let d1 = 0, d2 = 0, d3 = 0;
    if (rh < fr(mlt * g)) {
      d1 = fr(lt * ix);
      d2 = fr(lt * iy);
      d3 = fr(lt * gamma);
    } else if (rh > fr(lt * g)) {
      d1 = fr(mlt * ix);
      d2 = fr(mlt * iy);
      d3 = fr(mlt * gamma);
    } else if (g > FLT_EPSILON) {
      const fi = fr(-rh / g);
      d1 = fr(fi * ix);
      d2 = fr(fi * iy);
      d3 = fr(fi * gamma);
    }
    const first = x === 0;
    const n1 = fr(fr(u1k + d1) + fr(theta * div(p11, p12, j, W, first)));
    const n2 = fr(fr(u2k + d2) + fr(theta * div(p21, p22, j, W, first)));
    u1[i] = n1;
    u2[i] = n2;
    const e1 = fr(n1 - u1k);
    const e2 = fr(n2 - u2k);
    let e = fr(fr(e1 * e1) + fr(e2 * e2));
    if (useGamma) {
      const n3 = fr(fr(u3k + d3) + fr(theta * div(p31, p32, j, W, first)));
      u3[i] = n3;
      const e3 = fr(n3 - u3k);
      e = fr(e + fr(e3 * e3));
    }
    error = fr(error + e);
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
  const fr = Math.fround;
  const W = w + 1;
  let i = y * w;
  let j = (y + 1) * W + 1;
  const down = y < h - 1 ? w : 0;
  for (let x = 0; x < w; x++, i++, j++) {
    const a = u[i];
    const ax = x < w - 1 ? fr(u[i + 1] - a) : 0;
    const ay = down ? fr(u[i + down] - a) : 0;
    // (float)hypot(ax, ay): the squares and their sum are exact in float64
    const ng = fr(1 + fr(taut * fr(Math.sqrt(ax * ax + ay * ay))));
    pa[j] = fr(pa[j] + fr(taut * ax)) / ng;
    pb[j] = fr(pb[j] + fr(taut * ay)) / ng;
  }
}

/**
 * Forward-difference gradient of (u1, u2) (and u3 when γ ≠ 0) and the dual
 * update of p, row `y`, in float32 as OpenCV computes them. Reads flow rows
 * `y` and `y + 1`.
 */
export function dualRow(
  y: number,
  k: KernelParams,
  b: KernelBuffers,
): void {
  const { w, h, taut } = k;
  dualRow1(y, w, h, b.u1, b.p11, b.p12, taut);
  dualRow1(y, w, h, b.u2, b.p21, b.p22, taut);
  if (k.gamma !== 0) dualRow1(y, w, h, b.u3, b.p31, b.p32, taut);
}
