/**
 * Test helpers of the layer tests: a parameter store filled with given
 * values, seeded test data and closeness assertions.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { StreamRng } from "../../rng/mod.ts";
import { ParamStore } from "../params.ts";
import type { LayerContext } from "./context.ts";

/** Deterministic test values in [-1, 1). */
export function values(n: number, seed: number): Float32Array {
  const r = new StreamRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r.uniform(-1, 1);
  return out;
}

/** Declares with `declare`, materialises, then overwrites every variable with seeded values. */
export function storeWith(
  declare: (s: ParamStore) => void,
  seed: number,
): ParamStore {
  const s = new ParamStore();
  declare(s);
  s.materialize(seed);
  let k = 0;
  for (const spec of s.specs) {
    const v = s.get(spec.name);
    if (spec.dtype === "int32") continue;
    let vals = values(v.size, seed * 1000 + k++);
    if (spec.name.endsWith("running_var")) vals = vals.map((x) => 1 + 0.5 * x);
    v.assign(tf.tensor(vals, v.shape));
  }
  return s;
}

/** An eval-mode context over `store`. */
export function evalCtx(store: ParamStore): LayerContext {
  return { store, training: false };
}

/** Asserts |a − b| ≤ tol elementwise; the message names the worst index. */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what = "",
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} ≠ ${expected.length}`);
  }
  let worst = 0, at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  if (!(worst <= tol)) {
    throw new Error(
      `${what}: max |diff| ${worst} > ${tol} at ${at} (${actual[at]} vs ${
        expected[at]
      })`,
    );
  }
}
