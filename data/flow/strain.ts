/**
 * Optical strain of a flow field, the third input channel common in
 * micro-expression recognition (e.g. STSTNet, MEGC2019 baselines).
 *
 * @module
 */

/**
 * Per-pixel magnitude of the optical strain tensor
 * `ε = ½(∇w + ∇wᵀ)` of the flow `w = (u, v)`:
 * `sqrt(ux² + vy² + ½(uy + vx)²)`, with central differences inside the image
 * (`ux = ½(u[x+1] − u[x−1])`) and one-sided differences on its borders.
 *
 * @param u horizontal flow, row-major `width × height`
 * @param v vertical flow, row-major `width × height`
 * @param width field width (≥ 2)
 * @param height field height (≥ 2)
 * @returns the strain magnitude, row-major
 */
export function opticalStrain(
  u: Float32Array,
  v: Float32Array,
  width: number,
  height: number,
): Float32Array {
  if (!Number.isInteger(width) || width < 2) {
    throw new RangeError(
      `opticalStrain: width must be an integer ≥ 2, got ${width}`,
    );
  }
  if (!Number.isInteger(height) || height < 2) {
    throw new RangeError(
      `opticalStrain: height must be an integer ≥ 2, got ${height}`,
    );
  }
  const n = width * height;
  if (!(u instanceof Float32Array) || u.length !== n) {
    throw new RangeError(
      `opticalStrain: u must be a Float32Array of ${width}×${height} = ${n} ` +
        `values, got ${u?.length}`,
    );
  }
  if (!(v instanceof Float32Array) || v.length !== n) {
    throw new RangeError(
      `opticalStrain: v must be a Float32Array of ${width}×${height} = ${n} ` +
        `values, got ${v?.length}`,
    );
  }
  const out = new Float32Array(n);
  const lc = width - 1;
  const lr = height - 1;
  for (let y = 0; y < height; y++) {
    const r = y * width;
    // Row offsets and divisor of the y-difference (central inside, one-sided
    // on the first/last row).
    const up = y > 0 ? r - width : r;
    const dn = y < lr ? r + width : r;
    const sy = y > 0 && y < lr ? 0.5 : 1;
    for (let x = 0; x < width; x++) {
      const l = x > 0 ? x - 1 : x;
      const rt = x < lc ? x + 1 : x;
      const sx = x > 0 && x < lc ? 0.5 : 1;
      const ux = (u[r + rt] - u[r + l]) * sx;
      const vx = (v[r + rt] - v[r + l]) * sx;
      const uy = (u[dn + x] - u[up + x]) * sy;
      const vy = (v[dn + x] - v[up + x]) * sy;
      const s = uy + vx;
      out[r + x] = Math.sqrt(ux * ux + vy * vy + 0.5 * s * s);
    }
  }
  return out;
}
