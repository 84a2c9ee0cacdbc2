/**
 * Test helpers shared by the kernel tests: backend switching and numeric
 * comparison against a reference with a relative tolerance.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Asserts `actual` and `expected` have the same length and agree elementwise
 * within `|a − e| ≤ atol + rtol·|e|`.
 *
 * @param actual values under test.
 * @param expected reference values.
 * @param rtol relative tolerance (default 1e-5).
 * @param atol absolute tolerance (default 1e-6).
 * @param what label used in the error message.
 * @throws Error naming the first offending index and the values.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol = 1e-5,
  atol = 1e-6,
  what = "values",
): void {
  if (actual.length !== expected.length) {
    throw new Error(
      `${what}: length ${actual.length} differs from expected ${expected.length}`,
    );
  }
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (
      !(excess <= 0) && (worst < 0 || excess > worstExcess || isNaN(excess))
    ) {
      worst = i;
      worstExcess = excess;
      if (isNaN(excess)) break;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what}: index ${worst}: got ${actual[worst]}, expected ${
        expected[worst]
      } (rtol ${rtol}, atol ${atol})`,
    );
  }
}

/**
 * Largest `|a − e| / max(|e|, floor)` over all elements: a relative error
 * that does not blow up on values near zero.
 *
 * @param actual values under test.
 * @param expected reference values.
 * @param floor magnitude below which the error is taken as absolute.
 * @returns the maximum relative error.
 */
export function maxRelError(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  floor = 1e-3,
): number {
  let m = 0;
  for (let i = 0; i < expected.length; i++) {
    const r = Math.abs(actual[i] - expected[i]) /
      Math.max(Math.abs(expected[i]), floor);
    if (!(r <= m)) m = r;
  }
  return m;
}

/**
 * Largest elementwise error relative to a per-element scale of
 * `max(|e_i|, fraction · max_j |e_j|)`: relative where values are large,
 * and relative to the tensor's magnitude where cancellation leaves an
 * element near zero (float32 sums in a different order differ there by
 * ~1e-7 of the summands, not of the result).
 *
 * @param actual values under test.
 * @param expected reference values.
 * @param fraction share of the tensor's max magnitude used as the floor.
 * @returns the maximum scaled error.
 */
export function maxScaledError(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  fraction = 0.1,
): number {
  let peak = 0;
  for (let i = 0; i < expected.length; i++) {
    peak = Math.max(peak, Math.abs(expected[i]));
  }
  return maxRelError(actual, expected, Math.max(fraction * peak, 1e-30));
}

/**
 * Runs `f` with `backend` active and restores the previously active backend.
 *
 * @param backend the backend to activate (must already be registered).
 * @param f the work to run.
 * @returns what `f` returned.
 */
export async function onBackend<T>(
  backend: string,
  f: () => Promise<T> | T,
): Promise<T> {
  const previous = tf.getBackend();
  if (!(await tf.setBackend(backend))) {
    throw new Error(`onBackend: backend "${backend}" failed to start`);
  }
  try {
    return await f();
  } finally {
    if (previous) await tf.setBackend(previous);
  }
}

/**
 * Deterministic pseudo-random floats in [-1, 1) from a 32-bit seed
 * (mulberry32), for test inputs independent of any backend.
 *
 * @param n how many values.
 * @param seed the seed.
 * @returns the values.
 */
export function seededValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}
