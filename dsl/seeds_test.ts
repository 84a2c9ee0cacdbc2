import { strict as assert } from "node:assert";
import { sha256Hex } from "./hash.ts";
import { deriveSeed, jobSeeds } from "./seeds.ts";

Deno.test("deriveSeed is SHA-256 of the named path, reduced to [1, 2^31 − 1]", () => {
  const hex = sha256Hex("merba-seed\u00000\u0000casme2/sub01\u0000init");
  assert.equal(
    deriveSeed(0, "casme2/sub01", "init"),
    (parseInt(hex.slice(0, 8), 16) % 0x7fffffff) + 1,
  );
  const seen = new Set<number>();
  for (let root = 0; root < 200; root++) {
    for (const s of Object.values(jobSeeds(root, `f${root % 7}`))) {
      assert.ok(Number.isInteger(s) && s >= 1 && s <= 0x7fffffff);
      seen.add(s);
    }
  }
  assert.equal(seen.size, 800, "no collisions among 800 derived seeds");
  assert.throws(
    () => deriveSeed(-1, "x"),
    /root seed must be an integer ≥ 0, got -1/,
  );
});

Deno.test("streams differ by name, root and fold, and are stable", () => {
  const a = jobSeeds(1, "sub01");
  assert.equal(new Set(Object.values(a)).size, 4);
  assert.deepEqual(jobSeeds(1, "sub01"), a);
  assert.notDeepEqual(jobSeeds(2, "sub01"), a);
  assert.notDeepEqual(jobSeeds(1, "sub02"), a);
  // names are separated, so ("ab","c") ≠ ("a","bc")
  assert.notEqual(deriveSeed(1, "ab", "c"), deriveSeed(1, "a", "bc"));
});
