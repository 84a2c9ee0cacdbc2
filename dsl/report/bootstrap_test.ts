import { strict as assert } from "node:assert";
import type { Prediction } from "../../train/types.ts";
import { Rng } from "../../train/rng.ts";
import { bootstrapGroup, bootstrapP } from "./bootstrap.ts";

/** Two-class predictions of `subjects`, each clip right with its subject's rate. */
function simulate(
  rng: Rng,
  accuracy: number[],
  clips: number,
  subjectOffset = 0,
): Prediction[] {
  const out: Prediction[] = [];
  accuracy.forEach((a, s) => {
    for (let c = 0; c < clips; c++) {
      const label = rng.int(2);
      const right = rng.uniform() < a;
      out.push({
        id: `s${s}c${c}`,
        subject: `s${s + subjectOffset}`,
        source: "sim",
        split: "test",
        label,
        pred: right ? label : 1 - label,
      });
    }
  });
  return out;
}

Deno.test("the 95% subject bootstrap interval of ACC covers the known truth about 95% of the time", () => {
  // Population: per-subject accuracy uniform on [0.3, 0.9] (truth: mean
  // 0.6, equal clips per subject so pooled ACC estimates it without bias).
  // Tolerance: 300 simulated studies give a coverage standard error of
  // ≈ 0.013; the band [0.90, 0.985] allows ±3 s.e. of noise around the
  // percentile interval's own coverage, which is a little under 95% with
  // few subjects (≈ 0.925 at 25 subjects, ≈ 0.95 at 60, by simulation).
  const rng = new Rng(20261203);
  const studies = 300, subjects = 40, clips = 6, truth = 0.6;
  let covered = 0;
  let width = 0;
  for (let i = 0; i < studies; i++) {
    const acc = Array.from(
      { length: subjects },
      () => 0.3 + 0.6 * rng.uniform(),
    );
    const preds = simulate(rng, acc, clips);
    const out = bootstrapGroup([{ predictionsBySeed: [preds] }], 2, null, {
      seed: i,
      group: "overall",
      resamples: 400,
    });
    const [lo, hi] = out.intervals[0].acc.ci95!;
    if (lo <= truth && truth <= hi) covered++;
    width += hi - lo;
  }
  const coverage = covered / studies;
  assert.ok(
    coverage >= 0.90 && coverage <= 0.985,
    `coverage ${coverage} outside [0.90, 0.985]`,
  );
  // informative, not trivially wide: the s.e. of the mean is ≈ 0.04 here.
  assert.ok(width / studies < 0.2, `mean width ${width / studies}`);
});

Deno.test("the paired p-value rejects about 5% of true nulls at 0.05 and finds a real difference", () => {
  const rng = new Rng(7);
  const studies = 200, subjects = 20, clips = 6;
  let falseRejections = 0, detections = 0;
  for (let i = 0; i < studies; i++) {
    const acc = Array.from(
      { length: subjects },
      () => 0.3 + 0.5 * rng.uniform(),
    );
    const same = [
      simulate(rng, acc, clips),
      simulate(rng, acc, clips),
    ].map((p) => ({ predictionsBySeed: [p] }));
    const better = simulate(rng, acc.map((a) => Math.min(1, a + 0.3)), clips);
    const out = bootstrapGroup(
      [...same, { predictionsBySeed: [better] }],
      2,
      0,
      { seed: i, group: "g", resamples: 400 },
    );
    if (out.paired[1]!.acc.p! < 0.05) falseRejections++;
    const d = out.paired[2]!.acc;
    if (d.p! < 0.05 && d.ci95![0] > 0) detections++;
  }
  const rate = falseRejections / studies;
  assert.ok(rate >= 0.01 && rate <= 0.10, `false rejection rate ${rate}`);
  assert.ok(detections / studies >= 0.9, `power ${detections / studies}`);
});

Deno.test("bootstrap resamples subjects, not clips: a subject's clips stay together", () => {
  // subject a: 10 clips all right; subject b: 10 clips all wrong. Resamples
  // are {a,a} → 1, {a,b} → 0.5, {b,b} → 0 (1/4 each), so the 95% interval
  // is [0, 1]; resampling clips would give about [0.28, 0.72].
  const preds: Prediction[] = [];
  for (const [subject, right] of [["a", true], ["b", false]] as const) {
    for (let c = 0; c < 10; c++) {
      preds.push({
        id: `${subject}${c}`,
        subject,
        source: "x",
        split: "test",
        label: c % 2,
        pred: right ? c % 2 : 1 - (c % 2),
      });
    }
  }
  const out = bootstrapGroup([{ predictionsBySeed: [preds, preds] }], 2, null, {
    seed: 1,
    group: "overall",
    resamples: 1000,
  });
  assert.equal(out.subjects, 2);
  assert.deepStrictEqual(out.intervals[0].acc.ci95, [0, 1]);
});

Deno.test("the same subject id in two sources counts as two subjects", () => {
  const rng = new Rng(3);
  const a = simulate(rng, [0.5, 0.5], 3).map((p) => ({ ...p, source: "a" }));
  const b = simulate(rng, [0.5, 0.5], 3).map((p) => ({ ...p, source: "b" }));
  const out = bootstrapGroup([{ predictionsBySeed: [[...a, ...b]] }], 2, null, {
    seed: 1,
    group: "overall",
    resamples: 10,
  });
  assert.equal(out.subjects, 4);
});

Deno.test("bootstrap is reproducible from its seed and group name, and a row equal to the reference differs by exactly 0 with p = 1", () => {
  const rng = new Rng(11);
  const rows = [0.5, 0.7].map((a) => ({
    predictionsBySeed: [simulate(rng, new Array(12).fill(a), 5)],
  }));
  const run = (seed: number, group: string) =>
    bootstrapGroup([...rows, rows[1]], 2, 1, { seed, group, resamples: 200 });
  assert.deepStrictEqual(run(1, "g"), run(1, "g"));
  assert.notDeepStrictEqual(
    run(1, "g").intervals[0].acc,
    run(1, "h").intervals[0].acc,
  );
  const twin = run(1, "g").paired[2]!.uf1;
  assert.deepStrictEqual(twin, { diff: 0, ci95: [0, 0], p: 1 });
  assert.equal(run(1, "g").paired[1], null);
});

Deno.test("bootstrapP counts the resampled differences on the far side of 0 with the +1 correction", () => {
  assert.equal(bootstrapP([1, 2, 3, 4]), 2 * 1 / 5);
  assert.equal(bootstrapP([-1, 2, 3, 4]), 2 * 2 / 5);
  assert.equal(bootstrapP([0, 0]), 1);
  assert.equal(bootstrapP([NaN]), null);
});
