/**
 * Image primitives with OpenCV semantics, as TV-L1 needs them: bilinear
 * `resize` (`INTER_LINEAR`), bicubic `remap` (`INTER_CUBIC`, `BORDER_CONSTANT`
 * 0, coordinates quantised to 1/32 pixel as OpenCV's fixed-point maps do),
 * 5×5 / 3×3 median filter (`BORDER_REPLICATE`), and the centred gradient of
 * `tvl1flow.cpp`. All images are single-channel, row-major `Float32Array`s.
 *
 * @module
 */

/** OpenCV's `INTER_TAB_SIZE`: remap resolves sub-pixel positions to 1/32. */
const TAB_SIZE = 32;
const TAB_BITS = 5;

/** OpenCV `cvRound`: round half to even (what `lrint` does by default). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/**
 * The size OpenCV's `resize(src, dst, Size(), f, f)` gives a side of length
 * `n`: `saturate_cast<int>(n * f)` (round half to even).
 *
 * @param n source side length
 * @param factor scale factor
 * @returns destination side length
 */
export function scaledSize(n: number, factor: number): number {
  return roundHalfEven(n * factor);
}

/** Per-destination-index source offsets and weights of linear resize. */
function linearTaps(
  dstLen: number,
  srcLen: number,
  scale: number,
  clampFraction: boolean,
): { i0: Int32Array; i1: Int32Array; w1: Float32Array } {
  const i0 = new Int32Array(dstLen);
  const i1 = new Int32Array(dstLen);
  const w1 = new Float32Array(dstLen);
  for (let d = 0; d < dstLen; d++) {
    const f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    let frac = Math.fround(f - s);
    if (clampFraction) {
      if (s < 0) {
        s = 0;
        frac = 0;
      }
      if (s >= srcLen - 1) {
        s = srcLen - 1;
        frac = 0;
      }
    }
    i0[d] = Math.min(Math.max(s, 0), srcLen - 1);
    i1[d] = Math.min(Math.max(s + 1, 0), srcLen - 1);
    w1[d] = frac;
  }
  return { i0, i1, w1 };
}

/**
 * Bilinear resize with OpenCV `INTER_LINEAR` semantics (half-pixel centres,
 * edge clamping). `scaleX`/`scaleY` are OpenCV's `1/inv_scale`: source pixels
 * per destination pixel. When the destination size was given explicitly,
 * OpenCV uses `1 / (dst / src)`; when a factor `f` was given, `1 / f`.
 *
 * @param src source image, `srcW × srcH`
 * @param srcW source width
 * @param srcH source height
 * @param dstW destination width
 * @param dstH destination height
 * @param scaleX source pixels per destination pixel along x
 * @param scaleY source pixels per destination pixel along y
 * @param out optional destination buffer of length `dstW * dstH`
 * @returns the resized image
 */
export function resizeLinear(
  src: Float32Array,
  srcW: number,
  srcH: number,
  dstW: number,
  dstH: number,
  scaleX: number = 1 / (dstW / srcW),
  scaleY: number = 1 / (dstH / srcH),
  out: Float32Array = new Float32Array(dstW * dstH),
): Float32Array {
  const tx = linearTaps(dstW, srcW, scaleX, true);
  const ty = linearTaps(dstH, srcH, scaleY, false);
  const row0 = new Float32Array(dstW);
  const row1 = new Float32Array(dstW);
  const { i0: xi0, i1: xi1, w1: xw1 } = tx;
  // float32 products and sums, as OpenCV's float resize computes them
  const fr = Math.fround;
  const hpass = (sy: number, dst: Float32Array) => {
    const base = sy * srcW;
    for (let x = 0; x < dstW; x++) {
      const a = xw1[x];
      dst[x] = fr(src[base + xi0[x]] * fr(1 - a)) + fr(src[base + xi1[x]] * a);
    }
  };
  for (let y = 0; y < dstH; y++) {
    const b = ty.w1[y];
    const b0 = Math.fround(1 - b);
    hpass(ty.i0[y], row0);
    hpass(ty.i1[y], row1);
    const o = y * dstW;
    for (let x = 0; x < dstW; x++) {
      out[o + x] = fr(row0[x] * b0) + fr(row1[x] * b);
    }
  }
  return out;
}

/** OpenCV `interpolateCubic` (A = −0.75), in float32 arithmetic. */
function cubicCoeffs(x: number, c: Float32Array, o: number): void {
  const f = Math.fround;
  const A = -0.75;
  const x1 = f(x + 1);
  c[o] = f(f(f(f(f(f(A * x1) - 5 * A) * x1) + 8 * A) * x1) - 4 * A);
  c[o + 1] = f(f(f(f(f((A + 2) * x) - (A + 3)) * x) * x) + 1);
  const y = f(1 - x);
  c[o + 2] = f(f(f(f(f((A + 2) * y) - (A + 3)) * y) * y) + 1);
  c[o + 3] = f(f(f(1 - c[o]) - c[o + 1]) - c[o + 2]);
}

/**
 * OpenCV's bicubic remap weights: 32×32 sub-pixel positions (row-major, y
 * then x fraction) × 16 float32 weights (4 rows × 4 taps), each the float32
 * product of the 1-D `interpolateCubic` coefficients (A = −0.75).
 */
export const CUBIC_TAB: Float32Array = (() => {
  const t1 = new Float32Array(TAB_SIZE * 4);
  for (let i = 0; i < TAB_SIZE; i++) {
    cubicCoeffs(Math.fround(i * Math.fround(1 / TAB_SIZE)), t1, i * 4);
  }
  const t2 = new Float32Array(TAB_SIZE * TAB_SIZE * 16);
  let k = 0;
  for (let i = 0; i < TAB_SIZE; i++) {
    for (let j = 0; j < TAB_SIZE; j++) {
      for (let a = 0; a < 4; a++) {
        const vy = t1[i * 4 + a];
        for (let b = 0; b < 4; b++) t2[k++] = vy * t1[j * 4 + b];
      }
    }
  }
  return t2;
})();

/**
 * Warp three same-size images at `(x + u, y + v)` with OpenCV's
 * `remap(..., INTER_CUBIC, BORDER_CONSTANT, 0)`: map coordinates are
 * rounded to 1/32 pixel, the 4×4 bicubic kernel (A = −0.75) is applied, and
 * taps outside the image count as 0. The three images share the sampling
 * positions (TV-L1 warps I1 and its two derivatives).
 *
 * @param a first source image
 * @param b second source image
 * @param c third source image
 * @param u horizontal displacement per pixel
 * @param v vertical displacement per pixel
 * @param width image width
 * @param height image height
 * @param outA warped `a`
 * @param outB warped `b`
 * @param outC warped `c`
 */
export function remapCubic3(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  u: Float32Array,
  v: Float32Array,
  width: number,
  height: number,
  outA: Float32Array,
  outB: Float32Array,
  outC: Float32Array,
): void {
  const tab = CUBIC_TAB;
  const fr = Math.fround;
  const w1 = width - 3;
  const h1 = height - 3;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      // map1 = x + u, map2 = y + v, stored as float32 by OpenCV.
      const mx = Math.fround(x + u[i]);
      const my = Math.fround(y + v[i]);
      const X = roundHalfEven(mx * TAB_SIZE);
      const Y = roundHalfEven(my * TAB_SIZE);
      const sx = (X >> TAB_BITS) - 1;
      const sy = (Y >> TAB_BITS) - 1;
      const wo = ((Y & (TAB_SIZE - 1)) * TAB_SIZE + (X & (TAB_SIZE - 1))) * 16;
      if (sx >= 0 && sx < w1 && sy >= 0 && sy < h1) {
        // float32 arithmetic in OpenCV's order: each row's four products
        // summed left to right, rows added to the running sum
        let sa = 0, sb = 0, sc = 0;
        let p = sy * width + sx;
        for (let r = 0; r < 4; r++, p += width) {
          const k = wo + r * 4;
          const t0 = tab[k], t1 = tab[k + 1], t2 = tab[k + 2], t3 = tab[k + 3];
          sa = fr(
            sa +
              fr(
                fr(fr(fr(a[p] * t0) + fr(a[p + 1] * t1)) + fr(a[p + 2] * t2)) +
                  fr(a[p + 3] * t3),
              ),
          );
          sb = fr(
            sb +
              fr(
                fr(fr(fr(b[p] * t0) + fr(b[p + 1] * t1)) + fr(b[p + 2] * t2)) +
                  fr(b[p + 3] * t3),
              ),
          );
          sc = fr(
            sc +
              fr(
                fr(fr(fr(c[p] * t0) + fr(c[p + 1] * t1)) + fr(c[p + 2] * t2)) +
                  fr(c[p + 3] * t3),
              ),
          );
        }
        outA[i] = sa;
        outB[i] = sb;
        outC[i] = sc;
      } else if (sx >= width || sx + 4 <= 0 || sy >= height || sy + 4 <= 0) {
        outA[i] = 0;
        outB[i] = 0;
        outC[i] = 0;
      } else {
        let sa = 0, sb = 0, sc = 0;
        for (let r = 0; r < 4; r++) {
          const yy = sy + r;
          if (yy < 0 || yy >= height) continue;
          for (let q = 0; q < 4; q++) {
            const xx = sx + q;
            if (xx < 0 || xx >= width) continue;
            const t = tab[wo + r * 4 + q];
            const p = yy * width + xx;
            sa = fr(sa + fr(a[p] * t));
            sb = fr(sb + fr(b[p] * t));
            sc = fr(sc + fr(c[p] * t));
          }
        }
        outA[i] = sa;
        outB[i] = sb;
        outC[i] = sc;
      }
    }
  }
}

/**
 * Centred image gradient exactly as `tvl1flow.cpp`'s `centeredGradient`:
 * `½(I[x+1] − I[x−1])` inside, `½` of the one-sided difference on borders.
 *
 * @param src image
 * @param width image width (≥ 2)
 * @param height image height (≥ 2)
 * @param dx output ∂I/∂x
 * @param dy output ∂I/∂y
 */
export function centeredGradient(
  src: Float32Array,
  width: number,
  height: number,
  dx: Float32Array,
  dy: Float32Array,
): void {
  const lc = width - 1;
  const lr = height - 1;
  for (let y = 0; y < height; y++) {
    const r = y * width;
    const up = y > 0 ? r - width : r;
    const dn = y < lr ? r + width : r;
    for (let x = 0; x < width; x++) {
      const l = x > 0 ? x - 1 : x;
      const rr = x < lc ? x + 1 : x;
      dx[r + x] = 0.5 * (src[r + rr] - src[r + l]);
      dy[r + x] = 0.5 * (src[dn + x] - src[up + x]);
    }
  }
}

/**
 * Median of `K × K` windows along one image row, given the row's columns
 * pre-sorted (`cols[K·c + k]` = k-th smallest of padded column `c`).
 *
 * It keeps a running value `g` with, per column, the counts of values `< g`
 * (`lt`) and `≤ g` (`le`). Sliding one pixel only changes the counts of the
 * column that leaves and the one that enters; `g` is the median (rank `m`)
 * exactly when Σlt ≤ m < Σle, and otherwise it steps to the next distinct
 * value above (or below) using the sorted columns as cursors. Exact for any
 * input (ties included); cheap when the median moves little between
 * neighbouring pixels, as in a flow field.
 */
function medianRow(
  cols: Float32Array,
  K: number,
  width: number,
  out: Float32Array,
  outOffset: number,
  le: Int32Array,
  lt: Int32Array,
): void {
  const m = (K * K) >> 1;
  let g = cols[K * (K >> 1) + (K >> 1)];
  let nlt = 0;
  let nle = 0;
  for (let c = 0; c < K; c++) {
    let a = 0, b = 0;
    for (let k = 0, o = K * c; k < K; k++) {
      const v = cols[o + k];
      if (v < g) a++;
      if (v <= g) b++;
    }
    lt[c] = a;
    le[c] = b;
    nlt += a;
    nle += b;
  }
  for (let x = 0; x < width; x++) {
    const end = x + K;
    if (x > 0) {
      const cin = end - 1;
      let a = 0, b = 0;
      for (let k = 0, o = K * cin; k < K; k++) {
        const v = cols[o + k];
        if (v < g) a++;
        if (v <= g) b++;
      }
      lt[cin] = a;
      le[cin] = b;
      nlt += a - lt[x - 1];
      nle += b - le[x - 1];
    }
    while (nle <= m) {
      // The median is above g: step to the smallest value > g.
      let v = Infinity;
      for (let c = x; c < end; c++) {
        const p = le[c];
        if (p < K) {
          const h = cols[K * c + p];
          if (h < v) v = h;
        }
      }
      g = v;
      nlt = nle;
      nle = 0;
      for (let c = x; c < end; c++) {
        let p = le[c];
        lt[c] = p;
        const o = K * c;
        while (p < K && cols[o + p] === v) p++;
        le[c] = p;
        nle += p;
      }
    }
    while (nlt > m) {
      // The median is below g: step to the largest value < g.
      let v = -Infinity;
      for (let c = x; c < end; c++) {
        const p = lt[c];
        if (p > 0) {
          const h = cols[K * c + p - 1];
          if (h > v) v = h;
        }
      }
      g = v;
      nle = nlt;
      nlt = 0;
      for (let c = x; c < end; c++) {
        let p = lt[c];
        le[c] = p;
        const o = K * c;
        while (p > 0 && cols[o + p - 1] === v) p--;
        lt[c] = p;
        nlt += p;
      }
    }
    out[outOffset + x] = g;
  }
}

/** A comparison result as 0/1 (JS adds booleans as numbers; no branch). */
const bit = (b: boolean): number => b as unknown as number;

/**
 * {@link medianRow} for 5×5 windows, unrolled over the five columns (kept in
 * locals that shift as the window slides). Column `c` occupies
 * `cols[7c .. 7c + 6]` = `[−∞, s0 … s4, +∞]`: the sentinels stop the cursor
 * walks without bounds tests.
 */
function medianRow5(
  cols: Float32Array,
  width: number,
  out: Float32Array,
  outOffset: number,
): void {
  let g = cols[7 * 2 + 3];
  let o0 = 1, o1 = 8, o2 = 15, o3 = 22, o4 = 29;
  let lt0 = 0, lt1 = 0, lt2 = 0, lt3 = 0, lt4 = 0;
  let le0 = 0, le1 = 0, le2 = 0, le3 = 0, le4 = 0;
  for (let x = -4; x < width; x++) {
    // Slide: drop column 0, bring in the column at 7(x + 4) + 1.
    o0 = o1;
    o1 = o2;
    o2 = o3;
    o3 = o4;
    o4 = 7 * (x + 4) + 1;
    lt0 = lt1;
    lt1 = lt2;
    lt2 = lt3;
    lt3 = lt4;
    le0 = le1;
    le1 = le2;
    le2 = le3;
    le3 = le4;
    const a0 = cols[o4], a1 = cols[o4 + 1], a2 = cols[o4 + 2];
    const a3 = cols[o4 + 3], a4 = cols[o4 + 4];
    lt4 = bit(a0 < g) + bit(a1 < g) + bit(a2 < g) + bit(a3 < g) +
      bit(a4 < g);
    le4 = bit(a0 <= g) + bit(a1 <= g) + bit(a2 <= g) + bit(a3 <= g) +
      bit(a4 <= g);
    if (x < 0) continue; // the first four columns only fill the window
    let nlt = lt0 + lt1 + lt2 + lt3 + lt4;
    let nle = le0 + le1 + le2 + le3 + le4;
    while (nle <= 12) {
      // The median is above g: step to the smallest value > g.
      let v = cols[o0 + le0];
      let t = cols[o1 + le1];
      if (t < v) v = t;
      t = cols[o2 + le2];
      if (t < v) v = t;
      t = cols[o3 + le3];
      if (t < v) v = t;
      t = cols[o4 + le4];
      if (t < v) v = t;
      if (!(v < Infinity)) break; // unreachable for finite input
      g = v;
      lt0 = le0;
      lt1 = le1;
      lt2 = le2;
      lt3 = le3;
      lt4 = le4;
      nlt = nle;
      while (cols[o0 + le0] === v) le0++;
      while (cols[o1 + le1] === v) le1++;
      while (cols[o2 + le2] === v) le2++;
      while (cols[o3 + le3] === v) le3++;
      while (cols[o4 + le4] === v) le4++;
      nle = le0 + le1 + le2 + le3 + le4;
    }
    while (nlt > 12) {
      // The median is below g: step to the largest value < g.
      let v = cols[o0 + lt0 - 1];
      let t = cols[o1 + lt1 - 1];
      if (t > v) v = t;
      t = cols[o2 + lt2 - 1];
      if (t > v) v = t;
      t = cols[o3 + lt3 - 1];
      if (t > v) v = t;
      t = cols[o4 + lt4 - 1];
      if (t > v) v = t;
      if (!(v > -Infinity)) break; // unreachable for finite input
      g = v;
      le0 = lt0;
      le1 = lt1;
      le2 = lt2;
      le3 = lt3;
      le4 = lt4;
      nle = nlt;
      while (cols[o0 + lt0 - 1] === v) lt0--;
      while (cols[o1 + lt1 - 1] === v) lt1--;
      while (cols[o2 + lt2 - 1] === v) lt2--;
      while (cols[o3 + lt3 - 1] === v) lt3--;
      while (cols[o4 + lt4 - 1] === v) lt4--;
      nlt = lt0 + lt1 + lt2 + lt3 + lt4;
    }
    out[outOffset + x] = g;
  }
}

/**
 * Median filter with a square `ksize × ksize` window (3 or 5, as OpenCV
 * supports for float images) and replicated borders, like `cv::medianBlur`.
 * Works in place (`out === src` allowed). Values must not be NaN.
 *
 * @param src image
 * @param width image width
 * @param height image height
 * @param ksize window side, 3 or 5
 * @param out destination (may be `src`)
 * @param scratch optional scratch buffer of the image's size (used in place)
 */
export function medianBlur(
  src: Float32Array,
  width: number,
  height: number,
  ksize: number,
  out: Float32Array,
  scratch?: Float32Array,
): void {
  if (ksize !== 3 && ksize !== 5) {
    throw new RangeError(
      `medianBlur: ksize must be 3 or 5 for float images, got ${ksize}`,
    );
  }
  let s = src;
  if (out === src) {
    s = scratch && scratch.length >= width * height
      ? scratch
      : new Float32Array(width * height);
    s.set(src.subarray(0, width * height));
  }
  const r = ksize >> 1;
  const pw = width + 2 * r;
  const K = ksize;
  const cols = new Float32Array(K === 5 ? 7 * pw : K * pw);
  if (K === 5) {
    for (let c = 0; c < pw; c++) {
      cols[7 * c] = -Infinity;
      cols[7 * c + 6] = Infinity;
    }
  }
  const le = new Int32Array(pw);
  const lt = new Int32Array(pw);
  const last = width - 1;
  const mn = Math.min, mx = Math.max;
  for (let y = 0; y < height; y++) {
    if (K === 5) {
      const r0 = Math.max(y - 2, 0) * width;
      const r1 = Math.max(y - 1, 0) * width;
      const r2 = y * width;
      const r3 = Math.min(y + 1, height - 1) * width;
      const r4 = Math.min(y + 2, height - 1) * width;
      for (let c = 0, o = 1; c < pw; c++, o += 7) {
        const x = c < 2 ? 0 : c - 2 > last ? last : c - 2;
        let a = s[r0 + x], b = s[r1 + x], cc = s[r2 + x];
        let d = s[r3 + x], e = s[r4 + x], t;
        // Optimal 9-comparator sorting network for 5 values (branch-free).
        t = mn(a, b), b = mx(a, b), a = t;
        t = mn(d, e), e = mx(d, e), d = t;
        t = mn(cc, e), e = mx(cc, e), cc = t;
        t = mn(cc, d), d = mx(cc, d), cc = t;
        t = mn(a, d), d = mx(a, d), a = t;
        t = mn(a, cc), cc = mx(a, cc), a = t;
        t = mn(b, e), e = mx(b, e), b = t;
        t = mn(b, d), d = mx(b, d), b = t;
        t = mn(b, cc), cc = mx(b, cc), b = t;
        cols[o] = a;
        cols[o + 1] = b;
        cols[o + 2] = cc;
        cols[o + 3] = d;
        cols[o + 4] = e;
      }
    } else {
      const r0 = Math.max(y - 1, 0) * width;
      const r1 = y * width;
      const r2 = Math.min(y + 1, height - 1) * width;
      for (let c = 0, o = 0; c < pw; c++, o += 3) {
        const x = c < 1 ? 0 : c - 1 > last ? last : c - 1;
        let a = s[r0 + x], b = s[r1 + x], cc = s[r2 + x], t;
        t = mn(a, b), b = mx(a, b), a = t;
        t = mn(b, cc), cc = mx(b, cc), b = t;
        t = mn(a, b), b = mx(a, b), a = t;
        cols[o] = a;
        cols[o + 1] = b;
        cols[o + 2] = cc;
      }
    }
    if (K === 5) medianRow5(cols, width, out, y * width);
    else medianRow(cols, K, width, out, y * width, le, lt);
  }
}
