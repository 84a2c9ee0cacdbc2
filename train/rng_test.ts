import { strict as assert } from "node:assert";
import { MAX_SEED, Rng } from "./rng.ts";

const reference: Record<string, number[]> = JSON.parse(
  await Deno.readTextFile(
    new URL("./testdata/rng_reference.json", import.meta.url),
  ),
);

Deno.test("Rng matches the independent Python xoshiro128** reference", () => {
  for (const [seed, expected] of Object.entries(reference)) {
    const rng = new Rng(Number(seed));
    const got = expected.map(() => rng.nextUint32());
    assert.deepStrictEqual(got, expected, `seed ${seed}`);
  }
});

Deno.test("Rng same seed gives the same stream, different seeds differ", () => {
  const a = new Rng(123), b = new Rng(123), c = new Rng(124);
  const sa = Array.from({ length: 50 }, () => a.uniform());
  const sb = Array.from({ length: 50 }, () => b.uniform());
  const sc = Array.from({ length: 50 }, () => c.uniform());
  assert.deepStrictEqual(sa, sb);
  assert.notDeepStrictEqual(sa, sc);
});

Deno.test("Rng.uniform stays in [0,1) with mean and variance of U(0,1)", () => {
  const rng = new Rng(7);
  const n = 20000;
  let sum = 0, sq = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    assert(u >= 0 && u < 1);
    sum += u;
    sq += u * u;
  }
  const mean = sum / n;
  const variance = sq / n - mean * mean;
  assert(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  assert(Math.abs(variance - 1 / 12) < 0.005, `variance ${variance}`);
});

Deno.test("Rng.int is unbiased over a small range (chi-square)", () => {
  const rng = new Rng(99);
  const k = 6, n = 60000;
  const counts = new Array(k).fill(0);
  for (let i = 0; i < n; i++) counts[rng.int(k)]++;
  const e = n / k;
  const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
  // 5 degrees of freedom: P(chi2 > 20.5) ≈ 0.001.
  assert(chi2 < 20.5, `chi2 ${chi2} counts ${counts}`);
  assert.throws(() => rng.int(0), {
    name: "RangeError",
    message: /2\^32/,
  });
  assert.throws(() => rng.int(1.5), { name: "RangeError", message: /1\.5/ });
});

Deno.test("Rng.shuffle is a permutation and every position is uniform", () => {
  const rng = new Rng(5);
  const n = 5, trials = 20000;
  const firstCounts = new Array(n).fill(0);
  for (let t = 0; t < trials; t++) {
    const p = rng.permutation(n);
    assert.deepStrictEqual([...p].sort(), [0, 1, 2, 3, 4]);
    firstCounts[p[0]]++;
  }
  const e = trials / n;
  const chi2 = firstCounts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
  assert(chi2 < 18.5, `chi2 ${chi2}`); // 4 dof, p ≈ 0.001
});

Deno.test("Rng.seed is never 0 and within [1, 2^31-1]", () => {
  const rng = new Rng(0);
  for (let i = 0; i < 10000; i++) {
    const s = rng.seed();
    assert(Number.isInteger(s) && s >= 1 && s <= MAX_SEED);
  }
});

Deno.test("Rng.normal has mean 0 and variance 1", () => {
  const rng = new Rng(11);
  const n = 20000;
  let sum = 0, sq = 0;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    sum += z;
    sq += z * z;
  }
  assert(Math.abs(sum / n) < 0.03);
  assert(Math.abs(sq / n - 1) < 0.05);
});

Deno.test("Rng rejects a non-integer seed naming the value", () => {
  assert.throws(() => new Rng(1.5), { name: "RangeError", message: /1\.5/ });
  assert.throws(() => new Rng(NaN), { name: "RangeError", message: /NaN/ });
});
