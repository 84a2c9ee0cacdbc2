/**
 * Deterministic test inputs for the BLAS tests.
 *
 * @module
 */

/**
 * Deterministic pseudo-random floats in [-1, 1) (xorshift32).
 *
 * @param n how many.
 * @param seed the stream's seed (0 counts as 1).
 * @returns the floats.
 */
export function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}
