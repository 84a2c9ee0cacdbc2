import { strict as assert } from "node:assert";
import { computeMetrics, scoreConfusion } from "./metrics.ts";
import { Rng } from "./rng.ts";

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

Deno.test("computeMetrics on a hand-computed 3-class confusion matrix", () => {
  const truth = [0, 0, 0, 1, 1, 2, 2, 2, 2];
  const pred = [0, 1, 0, 1, 2, 2, 2, 0, 1];
  const m = computeMetrics(truth, pred, ["a", "b", "c"]);
  assert.deepStrictEqual(m.confusion, [[2, 1, 0], [0, 1, 1], [1, 1, 2]]);
  // F1: a 4/6, b 2/5, c 4/7; recall: a 2/3, b 1/2, c 2/4
  close(m.uf1, (2 / 3 + 0.4 + 4 / 7) / 3, "uf1");
  close(m.uar, (2 / 3 + 0.5 + 0.5) / 3, "uar");
  close(m.acc, 5 / 9, "acc");
  assert.equal(m.n, 9);
  assert.deepStrictEqual(m.absent, []);
  assert.deepStrictEqual(
    m.perClass.map((c) => [c.support, c.tp, c.fp, c.fn]),
    [[3, 2, 1, 1], [2, 1, 2, 1], [4, 2, 1, 2]],
  );
});

Deno.test("computeMetrics excludes an absent class from UF1/UAR but counts its predictions", () => {
  // class c has no true sample but is predicted once (for a true "a").
  const m = computeMetrics([0, 0, 1, 1], [0, 2, 1, 0], ["a", "b", "c"]);
  assert.deepStrictEqual(m.absent, ["c"]);
  // a: tp1 fp1 fn1 → F1 1/2, recall 1/2; b: tp1 fp0 fn1 → F1 2/3, recall 1/2
  close(m.uf1, (0.5 + 2 / 3) / 2, "uf1");
  close(m.uar, 0.5, "uar");
  close(m.acc, 0.5, "acc");
  const c = m.perClass[2];
  assert.deepStrictEqual([c.support, c.tp, c.fp, c.fn, c.f1], [0, 0, 1, 0, 0]);
  assert.ok(Number.isNaN(c.recall));
  // absent and never predicted: F1 undefined too
  const m2 = computeMetrics([0, 1], [0, 1], ["a", "b", "c"]);
  assert.ok(Number.isNaN(m2.perClass[2].f1));
  close(m2.uf1, 1, "uf1 perfect over present classes");
  assert.equal(JSON.parse(JSON.stringify(m2)).perClass[2].f1, null);
});

/** sklearn-style macro scores over `labels`, from precision and recall. */
function sklearnLike(truth: number[], pred: number[], labels: number[]) {
  let f1 = 0, rec = 0;
  for (const c of labels) {
    const tp = truth.filter((t, i) => t === c && pred[i] === c).length;
    const predicted = pred.filter((p) => p === c).length;
    const actual = truth.filter((t) => t === c).length;
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = actual === 0 ? 0 : tp / actual;
    f1 += precision + recall === 0
      ? 0
      : 2 * precision * recall / (precision + recall);
    rec += recall;
  }
  return { f1: f1 / labels.length, recall: rec / labels.length };
}

Deno.test("computeMetrics agrees with precision/recall (sklearn) macro formulas on random data", () => {
  const rng = new Rng(2024);
  for (let trial = 0; trial < 50; trial++) {
    const k = 2 + rng.int(6);
    const n = 5 + rng.int(60);
    const truth = Array.from({ length: n }, () => rng.int(k));
    // mostly right, sometimes wrong
    const pred = truth.map((t) => (rng.uniform() < 0.6 ? t : rng.int(k)));
    const present = [...new Set(truth)].sort((a, b) => a - b);
    const classes = Array.from({ length: k }, (_, i) => `c${i}`);
    const m = computeMetrics(truth, pred, classes);
    const ref = sklearnLike(truth, pred, present);
    assert.ok(Math.abs(m.uf1 - ref.f1) < 1e-12, `trial ${trial} uf1`);
    assert.ok(Math.abs(m.uar - ref.recall) < 1e-12, `trial ${trial} uar`);
    const acc = truth.filter((t, i) => t === pred[i]).length / n;
    assert.ok(Math.abs(m.acc - acc) < 1e-12);
    assert.equal(m.absent.length, k - present.length);
  }
});

Deno.test("computeMetrics rejects bad input naming the value", () => {
  assert.throws(
    () => computeMetrics([0, 1], [0], ["a", "b"]),
    /2 true labels but 1 predictions/,
  );
  assert.throws(
    () => computeMetrics([0, 2], [0, 1], ["a", "b"]),
    /true label 1 is 2/,
  );
  assert.throws(
    () => computeMetrics([0], [-1], ["a", "b"]),
    /prediction 0 is -1/,
  );
  assert.throws(() => computeMetrics([], [], ["a"]), /no predictions/);
});

Deno.test("computeMetrics and scoreConfusion agree with scikit-learn on 40 generated cases, absent classes included", async () => {
  // fixtures: train/testdata/gen_metrics.py (f1_score / recall_score macro
  // over the present labels, accuracy_score)
  const url = new URL("./testdata/metrics_reference.json", import.meta.url);
  const ref = JSON.parse(await Deno.readTextFile(url)) as {
    cases: {
      k: number;
      truth: number[];
      pred: number[];
      uf1: number;
      uar: number;
      acc: number;
    }[];
  };
  assert.equal(ref.cases.length, 40);
  assert.ok(ref.cases.some((c) => new Set(c.truth).size < c.k));
  ref.cases.forEach((c, i) => {
    const classes = Array.from({ length: c.k }, (_, j) => `c${j}`);
    const m = computeMetrics(c.truth, c.pred, classes);
    const s = scoreConfusion(m.confusion.flat(), c.k);
    for (const key of ["uf1", "uar", "acc"] as const) {
      close(m[key], c[key], `case ${i} ${key}`);
      close(s[key], c[key], `case ${i} ${key} (scoreConfusion)`);
    }
  });
});

Deno.test("scoreConfusion of an empty matrix is NaN, not an error", () => {
  const s = scoreConfusion(new Float64Array(4), 2);
  assert.ok(Number.isNaN(s.uf1) && Number.isNaN(s.uar) && Number.isNaN(s.acc));
});
