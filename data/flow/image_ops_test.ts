import { assertEquals, assertThrows } from "../testdata/asserts.ts";
import {
  centeredGradient,
  medianBlur,
  resizeLinear,
  scaledSize,
} from "./image_ops.ts";

/** Reference: gather the clamped window and sort it. */
function naiveMedian(
  src: Float32Array,
  w: number,
  h: number,
  k: number,
): Float32Array {
  const out = new Float32Array(w * h);
  const r = k >> 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const vals: number[] = [];
      for (let dy = -r; dy <= r; dy++) {
        for (let dx = -r; dx <= r; dx++) {
          const yy = Math.min(Math.max(y + dy, 0), h - 1);
          const xx = Math.min(Math.max(x + dx, 0), w - 1);
          vals.push(src[yy * w + xx]);
        }
      }
      vals.sort((a, b) => a - b);
      out[y * w + x] = vals[(k * k) >> 1];
    }
  }
  return out;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

Deno.test("medianBlur equals a sort-based median on random, tied and smooth images (5×5 and 3×3, in place too)", () => {
  const rand = lcg(7);
  const w = 23, h = 17;
  const images: Float32Array[] = [
    Float32Array.from({ length: w * h }, () => rand() * 10 - 5),
    // many ties: small integer values
    Float32Array.from({ length: w * h }, () => Math.floor(rand() * 3)),
    // smooth field with noise, like a flow component
    Float32Array.from(
      { length: w * h },
      (_, i) =>
        Math.sin((i % w) / 4) + Math.cos(Math.floor(i / w) / 3) + 0.05 * rand(),
    ),
  ];
  for (const img of images) {
    for (const k of [3, 5]) {
      const want = naiveMedian(img, w, h, k);
      const got = new Float32Array(w * h);
      medianBlur(img, w, h, k, got);
      assertEquals(got, want);
      const inPlace = img.slice();
      medianBlur(inPlace, w, h, k, inPlace);
      assertEquals(inPlace, want);
    }
  }
});

Deno.test("medianBlur handles images smaller than the window (replicated border)", () => {
  const img = Float32Array.from([3, 1, 2, 9, 5, 4]);
  const want = naiveMedian(img, 3, 2, 5);
  const got = new Float32Array(6);
  medianBlur(img, 3, 2, 5, got);
  assertEquals(got, want);
});

Deno.test("medianBlur rejects window sizes OpenCV does not support for float images", () => {
  assertThrows(
    () => medianBlur(new Float32Array(9), 3, 3, 7, new Float32Array(9)),
    "ksize must be 3 or 5",
  );
});

Deno.test("scaledSize rounds like OpenCV's saturate_cast (half to even)", () => {
  assertEquals(scaledSize(224, 0.8), 179);
  assertEquals(scaledSize(179, 0.8), 143);
  assertEquals(scaledSize(5, 0.5), 2); // 2.5 → 2
  assertEquals(scaledSize(7, 0.5), 4); // 3.5 → 4
});

Deno.test("resizeLinear preserves constants and linear ramps inside the image", () => {
  const w = 20, h = 10;
  const ramp = Float32Array.from(
    { length: w * h },
    (_, i) => 3 * (i % w) + 2 * Math.floor(i / w),
  );
  const dw = 16, dh = 8;
  const out = resizeLinear(ramp, w, h, dw, dh, 1 / 0.8, 1 / 0.8);
  for (let y = 0; y < dh; y++) {
    const sy = (y + 0.5) * 1.25 - 0.5;
    for (let x = 0; x < dw; x++) {
      const sx = (x + 0.5) * 1.25 - 0.5;
      if (sx < 0 || sy < 0 || sx > w - 1 || sy > h - 1) continue;
      const want = 3 * sx + 2 * sy;
      if (Math.abs(out[y * dw + x] - want) > 1e-4) {
        throw new Error(`(${x},${y}): ${out[y * dw + x]} vs ${want}`);
      }
    }
  }
  const c = resizeLinear(new Float32Array(w * h).fill(7), w, h, 33, 17);
  assertEquals(c, new Float32Array(33 * 17).fill(7));
});

Deno.test("centeredGradient is exact on a quadratic inside and halves one-sided borders", () => {
  const w = 6, h = 5;
  const f = (x: number, y: number) => x * x + 3 * y;
  const img = Float32Array.from(
    { length: w * h },
    (_, i) => f(i % w, Math.floor(i / w)),
  );
  const dx = new Float32Array(w * h), dy = new Float32Array(w * h);
  centeredGradient(img, w, h, dx, dy);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const wantDx = x === 0
        ? 0.5 * (f(1, y) - f(0, y))
        : x === w - 1
        ? 0.5 * (f(x, y) - f(x - 1, y))
        : 2 * x;
      const wantDy = y === 0 || y === h - 1 ? 1.5 : 3;
      assertEquals([dx[i], dy[i]], [wantDx, wantDy], `at (${x},${y})`);
    }
  }
});
