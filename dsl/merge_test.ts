import { strict as assert } from "node:assert";
import { deepMerge, getPath, setPath } from "./merge.ts";

Deno.test("deepMerge merges objects recursively and replaces lists, null and scalars", () => {
  const base = { a: { b: 1, c: [1, 2, 3], d: { e: 1 } }, f: "x", g: { h: 1 } };
  const out = deepMerge(base, { a: { c: [9], d: { z: 2 } }, f: "y", g: null });
  assert.deepEqual(out, {
    a: { b: 1, c: [9], d: { e: 1, z: 2 } },
    f: "y",
    g: null,
  });
  assert.deepEqual(base.a.c, [1, 2, 3], "inputs are not mutated");
});

Deno.test("deepMerge keeps the base where the override is undefined and shares no objects", () => {
  const override = { a: { b: [1] } };
  const out = deepMerge({ a: { c: 1 }, k: 2 }, { ...override, k: undefined });
  assert.deepEqual(out, { a: { c: 1, b: [1] }, k: 2 });
  (out.a as { b: number[] }).b.push(5);
  assert.deepEqual(override.a.b, [1]);
});

Deno.test("setPath creates intermediate objects and refuses to cross a scalar", () => {
  assert.deepEqual(setPath({ a: 1 }, "b.c.d", [1, 2]), {
    a: 1,
    b: { c: { d: [1, 2] } },
  });
  assert.throws(
    () => setPath({ a: 1 }, "a.b", 2),
    /cannot set a\.b: a is 1, not an object/,
  );
  assert.throws(() => setPath({}, "a..b", 2), /invalid field path "a\.\.b"/);
  assert.equal(getPath({ a: { b: 3 } }, "a.b"), 3);
  assert.equal(getPath({ a: 1 }, "a.b"), undefined);
});
