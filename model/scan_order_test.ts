import assert from "node:assert/strict";
import { inverse, SCAN_NAMES, scanOrder } from "./scan_order.ts";

Deno.test("scanOrder: every scan is a bijection on non-square and square grids", () => {
  for (const [h, w] of [[1, 1], [3, 3], [4, 4], [2, 5], [7, 7], [5, 2]]) {
    for (const name of SCAN_NAMES) {
      const p = scanOrder(h, w, name);
      assert.equal(p.length, h * w);
      assert.deepEqual([...p].sort((a, b) => a - b), [...Array(h * w).keys()]);
    }
  }
});

Deno.test("scanOrder: 3×3 orders match hand-written sequences", () => {
  // grid: 0 1 2 / 3 4 5 / 6 7 8
  const expect: Record<string, number[]> = {
    "h": [0, 1, 2, 3, 4, 5, 6, 7, 8],
    "v": [0, 3, 6, 1, 4, 7, 2, 5, 8],
    "hz": [0, 1, 2, 5, 4, 3, 6, 7, 8],
    "vz": [0, 3, 6, 7, 4, 1, 2, 5, 8],
    "h-r": [8, 7, 6, 5, 4, 3, 2, 1, 0],
    "h-m": [2, 1, 0, 5, 4, 3, 8, 7, 6],
    "v-m": [2, 5, 8, 1, 4, 7, 0, 3, 6],
    "hz-m": [2, 1, 0, 3, 4, 5, 8, 7, 6],
    "vz-m": [2, 5, 8, 7, 4, 1, 0, 3, 6],
    "vz-r": [8, 5, 2, 1, 4, 7, 6, 3, 0],
    "hz-rm": [6, 7, 8, 5, 4, 3, 0, 1, 2],
  };
  for (const [name, seq] of Object.entries(expect)) {
    assert.deepEqual([...scanOrder(3, 3, name as never)], seq, name);
  }
});

Deno.test("scanOrder: 4×4 zigzags and 2×3 rectangles match hand-written sequences", () => {
  // 4×4 grid: rows 0-3, 4-7, 8-11, 12-15
  assert.deepEqual(
    [...scanOrder(4, 4, "hz")],
    [0, 1, 2, 3, 7, 6, 5, 4, 8, 9, 10, 11, 15, 14, 13, 12],
  );
  assert.deepEqual(
    [...scanOrder(4, 4, "vz")],
    [0, 4, 8, 12, 13, 9, 5, 1, 2, 6, 10, 14, 15, 11, 7, 3],
  );
  assert.deepEqual(
    [...scanOrder(4, 4, "v-rm")],
    [12, 8, 4, 0, 13, 9, 5, 1, 14, 10, 6, 2, 15, 11, 7, 3],
  );
  // 2×3 grid: 0 1 2 / 3 4 5
  assert.deepEqual([...scanOrder(2, 3, "v")], [0, 3, 1, 4, 2, 5]);
  assert.deepEqual([...scanOrder(2, 3, "vz")], [0, 3, 4, 1, 2, 5]);
  assert.deepEqual([...scanOrder(2, 3, "hz-m")], [2, 1, 0, 3, 4, 5]);
});

Deno.test("inverse: composes with the order to the identity and rejects non-permutations", () => {
  for (const name of SCAN_NAMES) {
    const p = scanOrder(4, 5, name);
    const inv = inverse(p);
    for (let i = 0; i < p.length; i++) {
      assert.equal(inv[p[i]], i);
      assert.equal(p[inv[i]], i);
    }
  }
  assert.throws(() => inverse(Int32Array.from([0, 0, 1])), /not a permutation/);
});

Deno.test("scanOrder: bad sizes and unknown names give clear errors", () => {
  assert.throws(
    () => scanOrder(0, 3, "h"),
    /height must be a positive integer, got 0/,
  );
  assert.throws(
    () => scanOrder(3, 2.5, "h"),
    /width must be a positive integer, got 2.5/,
  );
  assert.throws(() => scanOrder(3, 3, "d" as never), /unknown scan "d"/);
});
