import { assert, assertEquals, assertThrows } from "../testdata/asserts.ts";
import { opticalStrain } from "./strain.ts";

/** Reference: strain from explicit neighbour lookups, one pixel at a time. */
function naiveStrain(
  u: Float32Array,
  v: Float32Array,
  w: number,
  h: number,
): Float32Array {
  const at = (a: Float32Array, x: number, y: number) => a[y * w + x];
  const dx = (a: Float32Array, x: number, y: number) =>
    x === 0
      ? at(a, 1, y) - at(a, 0, y)
      : x === w - 1
      ? at(a, x, y) - at(a, x - 1, y)
      : (at(a, x + 1, y) - at(a, x - 1, y)) / 2;
  const dy = (a: Float32Array, x: number, y: number) =>
    y === 0
      ? at(a, x, 1) - at(a, x, 0)
      : y === h - 1
      ? at(a, x, y) - at(a, x, y - 1)
      : (at(a, x, y + 1) - at(a, x, y - 1)) / 2;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const exx = dx(u, x, y), eyy = dy(v, x, y);
      const exy = (dy(u, x, y) + dx(v, x, y)) / 2;
      // ‖ε‖ with the off-diagonal counted once: sqrt(εxx² + εyy² + 2εxy²)
      out[y * w + x] = Math.sqrt(exx * exx + eyy * eyy + 2 * exy * exy);
    }
  }
  return out;
}

Deno.test("opticalStrain equals a naive per-pixel strain tensor magnitude on random fields", () => {
  let s = 3;
  const rnd = () =>
    ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 4 - 2;
  const w = 13, h = 9;
  const u = Float32Array.from({ length: w * h }, rnd),
    v = Float32Array.from({ length: w * h }, rnd);
  const got = opticalStrain(u, v, w, h), want = naiveStrain(u, v, w, h);
  for (let i = 0; i < w * h; i++) {
    assert(
      Math.abs(got[i] - want[i]) <= 1e-6 * (1 + want[i]),
      `pixel ${i}: ${got[i]} vs ${want[i]}`,
    );
  }
});

Deno.test("opticalStrain is zero for rigid translation and exact for linear fields", () => {
  const w = 8, h = 6, n = w * h;
  assertEquals(
    opticalStrain(
      new Float32Array(n).fill(1.5),
      new Float32Array(n).fill(-2),
      w,
      h,
    ),
    new Float32Array(n),
  );
  // u = a x + b y, v = c x + d y → strain = sqrt(a² + d² + ½(b + c)²) everywhere
  const a = 0.5, b = 0.25, c = -0.75, d = 1;
  const u = new Float32Array(n), v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = i % w, y = Math.floor(i / w);
    u[i] = a * x + b * y;
    v[i] = c * x + d * y;
  }
  const want = Math.sqrt(a * a + d * d + 0.5 * (b + c) ** 2);
  for (const e of opticalStrain(u, v, w, h)) {
    assert(Math.abs(e - want) < 1e-6, `${e} vs ${want}`);
  }
});

Deno.test("opticalStrain rejects mismatched sizes naming the argument", () => {
  assertThrows(
    () => opticalStrain(new Float32Array(6), new Float32Array(5), 3, 2),
    "v must be a Float32Array of 3×2 = 6 values, got 5",
  );
  assertThrows(
    () => opticalStrain(new Float32Array(6), new Float32Array(6), 1, 6),
    "width must be an integer ≥ 2, got 1",
  );
});
