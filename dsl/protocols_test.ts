import { strict as assert } from "node:assert";
import { SpecError } from "./errors.ts";
import {
  checkPlanData,
  foldsFor,
  splitSamples,
  subjectsOf,
} from "./protocols.ts";
import { validateExperiment } from "./spec.ts";
import { standInDataset } from "./testdata/stand_in_deps.ts";
import { base, plan } from "./testdata/plan_helper.ts";

Deno.test("LOSO: one fold per subject, in sorted order; jobs = variants × seeds × subjects", async () => {
  const { ds, jobs } = await plan(base);
  const subjects = subjectsOf(ds.samples);
  assert.equal(subjects.length, 6);
  assert.equal(jobs.length, 2 * 2 * 6);
  assert.deepEqual(jobs.slice(0, 6).map((j) => j.fold.name), subjects);
  assert.deepEqual(
    jobs.slice(0, 6).map((j) => j.fold.testSubjects),
    subjects.map((s) => [s]),
  );
  assert.deepEqual(
    jobs.map((j) => `${j.variant}/${j.seed}`).filter((_, i) => i % 6 === 0),
    ["a/1", "a/2", "b/1", "b/2"],
  );
  assert.equal(new Set(jobs.map((j) => j.hash)).size, jobs.length);
  assert.ok(
    jobs.every((j) =>
      /^[0-9a-f]{64}$/.test(j.hash) && j.id === j.hash.slice(0, 16)
    ),
  );
  assert.equal(jobs[0].recipe.epochs, 70, "LOSO default: 70 epochs per fold");
  assert.equal(
    jobs[0].modelConfig.inputSize,
    16,
    "input size from the dataset",
  );
  assert.equal(jobs[0].modelConfig.numClasses, 3);
});

Deno.test("k-fold deals every subject to exactly one fold", async () => {
  const { ds, jobs } = await plan({
    ...base,
    protocol: { kind: "kfold", k: 4 },
  });
  const folds = foldsFor({
    kind: "kfold",
    k: 4,
    groupBy: "subject",
    breakdownBy: "source",
  }, ds.samples);
  assert.equal(folds.length, 4);
  assert.deepEqual(
    folds.flatMap((f) => f.testSubjects!).sort(),
    subjectsOf(ds.samples),
  );
  assert.ok(folds.every((f) => f.testSubjects!.length >= 1));
  assert.equal(jobs.length, 2 * 2 * 4);
  assert.throws(
    () =>
      foldsFor(
        { kind: "kfold", k: 7, groupBy: "subject", breakdownBy: null },
        ds.samples,
      ),
    /k = 7 exceeds the dataset's 6 subjects/,
  );
});

Deno.test("splitSamples: LOSO holds out the fold's subject; validation subjects are disjoint from train and test", async () => {
  const { ds, jobs } = await plan({
    ...base,
    validation: { kind: "subjects", fraction: 0.4 },
  });
  for (const job of jobs.slice(0, 6)) {
    const parts = splitSamples(job, ds.samples);
    const subj = (xs: { subject: string }[]) =>
      new Set(xs.map((x) => x.subject));
    assert.deepEqual([...subj(parts.tests.test)], job.fold.testSubjects);
    const tr = subj(parts.train), va = subj(parts.validation!);
    assert.equal(va.size, 2, "round(0.4 × 5) subjects");
    for (const s of va) {
      assert.ok(!tr.has(s) && !job.fold.testSubjects!.includes(s));
    }
    assert.equal(
      parts.train.length + parts.validation!.length + parts.tests.test.length,
      ds.samples.length,
    );
  }
  // deterministic per (seed, fold), and differs across seeds somewhere
  const again = splitSamples(jobs[0], ds.samples);
  assert.deepEqual(
    again.validation!.map((s) => s.id),
    splitSamples(jobs[0], ds.samples).validation!.map((s) => s.id),
  );
  const holdouts = new Set(
    jobs.filter((j) => j.variant === "a").map((j) =>
      subjectsOf(splitSamples(j, ds.samples).validation!).join(",")
    ),
  );
  assert.ok(holdouts.size > 1);
});

Deno.test("splitSamples: fixed split by split name; validation `test` and `none`; errors name the split", async () => {
  const { ds, jobs } = await plan({
    ...base,
    protocol: { kind: "fixedSplit" },
    validation: { kind: "test", split: "testB" },
  });
  const parts = splitSamples(jobs[0], ds.samples);
  assert.ok(parts.train.every((s) => s.split === "train"));
  assert.ok(
    parts.tests.testA.every((s) => s.split === "testA") &&
      parts.tests.testA.length > 0,
  );
  assert.equal(parts.validation, parts.tests.testB);
  const none = splitSamples(
    { ...jobs[0], validation: { kind: "none" } },
    ds.samples,
  );
  assert.equal(none.validation, null);
  assert.throws(
    () =>
      splitSamples({
        ...jobs[0],
        protocol: { kind: "fixedSplit", train: "train", tests: ["testC"] },
      }, ds.samples),
    /protocol\.tests: the dataset has no samples in split "testC"/,
  );
  assert.throws(
    () =>
      splitSamples(
        { ...jobs[0], validation: { kind: "test", split: "dev" } },
        ds.samples,
      ),
    /validation\.split: no test split "dev" \(have testA, testB\)/,
  );
});

Deno.test("plan checks against the data: unknown fixed-split splits, validation split and report groups are named", async () => {
  const ds = await standInDataset({
    name: "synthetic-dfme",
    imageSize: 16,
    channels: "uv",
    options: { perClass: 4, subjects: 6 },
  });
  const fixed = validateExperiment({
    ...base,
    protocol: { kind: "fixedSplit", tests: ["testA", "testZ"] },
    report: { groups: ["testA", "testQ"] },
    validation: { kind: "test", split: "testY" },
  });
  assert.throws(
    () => checkPlanData(fixed, ds.samples, "f.yaml"),
    (e: unknown) => {
      assert.ok(e instanceof SpecError);
      assert.deepEqual(e.message.split("\n"), [
        'f.yaml: protocol.tests: the dataset has no split "testZ" (its splits: testA, testB, train)',
        'f.yaml: validation.split: "testY" is not one of protocol.tests (testA, testZ)',
        'f.yaml: report.groups: no group "testQ" (the groups are the test splits: testA, testZ)',
      ]);
      return true;
    },
  );
  // without the data, what the spec alone tells is still checked
  assert.throws(
    () => checkPlanData(fixed, null, "f.yaml"),
    /f\.yaml: validation\.split: "testY".*\nf\.yaml: report\.groups: no group "testQ"/,
  );
  const loso = validateExperiment({
    ...base,
    report: { groups: ["overall", "even", "smic"] },
  });
  assert.throws(
    () => checkPlanData(loso, ds.samples, "l.yaml"),
    /^SpecError: l\.yaml: report\.groups: no group "smic" \(the groups are overall, even, odd\)$/,
  );
  checkPlanData(loso, null, "l.yaml"); // sources unknown without the data
  checkPlanData(validateExperiment(base), ds.samples);
});
