import { strict as assert } from "node:assert";
import { SpecError } from "./errors.ts";
import { planJobs, resolveVariants, shardJobs } from "./plan.ts";
import {
  checkPlanData,
  foldsFor,
  splitSamples,
  subjectsOf,
} from "./protocols.ts";
import { validateExperiment } from "./spec.ts";
import { deps, standInDataset } from "./testdata/stand_in_deps.ts";

const base = {
  name: "p",
  dataset: {
    name: "synthetic-3db",
    imageSize: 16,
    options: { perClass: 4, subjects: 6 },
  },
  protocol: { kind: "loso" },
  model: { head: "linear" },
  seeds: [1, 2],
  variants: { a: { model: { scans: ["h"] } }, b: { model: { scans: ["v"] } } },
} as const;

async function plan(spec: unknown) {
  const s = validateExperiment(spec);
  const ds = await standInDataset({
    name: s.dataset.name,
    imageSize: s.dataset.imageSize,
    channels: "uv",
    options: s.dataset.options ?? undefined,
  });
  const variants = resolveVariants(s, deps, { numClasses: ds.classes.length });
  return {
    spec: s,
    ds,
    variants,
    jobs: planJobs(s, variants, foldsFor(s.protocol, ds.samples)),
  };
}

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

Deno.test("fixed split: one job per variant × seed, 200 epochs by default", async () => {
  const { jobs } = await plan({ ...base, protocol: { kind: "fixedSplit" } });
  assert.equal(jobs.length, 4);
  assert.ok(
    jobs.every((j) => j.fold.name === "split" && j.recipe.epochs === 200),
  );
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

Deno.test("adding a variant or a seed changes no other job's hash or seeds; adding a subject no other fold's seeds", async () => {
  const before = await plan(base);
  const more = await plan({
    ...base,
    seeds: [1, 2, 3],
    variants: { ...base.variants, c: { model: { scans: ["hz"] } } },
  });
  const byKey = (js: typeof before.jobs) =>
    new Map(js.map((j) => [`${j.variant}/${j.seed}/${j.fold.name}`, j]));
  const m = byKey(more.jobs);
  for (const j of before.jobs) {
    const k = m.get(`${j.variant}/${j.seed}/${j.fold.name}`)!;
    assert.equal(k.hash, j.hash);
    assert.deepEqual(k.seeds, j.seeds);
  }
  // a dataset with one more subject: other folds keep their seeds (the data identity changes the hashes)
  const moreSubjects = await plan({
    ...base,
    dataset: { ...base.dataset, options: { perClass: 4, subjects: 7 } },
  });
  assert.equal(moreSubjects.jobs.length, 2 * 2 * 7);
  const ms = byKey(moreSubjects.jobs);
  for (const j of before.jobs) {
    assert.deepEqual(
      ms.get(`${j.variant}/${j.seed}/${j.fold.name}`)!.seeds,
      j.seeds,
    );
  }
  // seeds do not depend on the variant name: common random numbers
  const a = before.jobs.find((j) =>
    j.variant === "a" && j.seed === 1 && j.fold.name === "tiny/s3"
  )!;
  const b = before.jobs.find((j) =>
    j.variant === "b" && j.seed === 1 && j.fold.name === "tiny/s3"
  )!;
  assert.deepEqual(a.seeds, b.seeds);
  assert.notEqual(a.hash, b.hash);
});

Deno.test("a job's hash changes with anything its results depend on", async () => {
  const h = async (spec: unknown) => (await plan(spec)).jobs[0].hash;
  const ref = await h(base);
  assert.notEqual(
    await h({ ...base, model: { head: "linear", dropout: 0.2 } }),
    ref,
  );
  assert.notEqual(await h({ ...base, train: { optimizer: { lr: 0.1 } } }), ref);
  assert.notEqual(await h({ ...base, backend: "cpu" }), ref);
  assert.notEqual(await h({ ...base, validation: { kind: "test" } }), ref);
  assert.equal(
    await h({
      ...base,
      description: "other words",
      dataset: { ...base.dataset, root: "/x", cacheDir: "/y" },
    }),
    ref,
  );
});

Deno.test("shards partition the plan", async () => {
  const { jobs } = await plan(base);
  for (const n of [1, 2, 3, 5, 24, 30]) {
    const parts = Array.from(
      { length: n },
      (_, i) => shardJobs(jobs, i + 1, n),
    );
    const ids = parts.flat().map((j) => j.id);
    assert.equal(ids.length, jobs.length);
    assert.deepEqual(new Set(ids), new Set(jobs.map((j) => j.id)));
    const sizes = parts.map((p) => p.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, "balanced");
  }
  assert.throws(() => shardJobs(jobs, 0, 2), /shard 0\/2/);
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

Deno.test("report.reference must name a variant: a wrong name is refused naming the field, the value and the variants", async () => {
  await assert.rejects(
    () => plan({ ...base, report: { reference: "c" } }),
    (e: Error) => {
      assert.match(
        e.message,
        /report\.reference: no variant "c" to compare with \(variants: a, b\)/,
      );
      return true;
    },
  );
  const ok = await plan({ ...base, report: { reference: "a" } });
  assert.equal(ok.spec.report.reference, "a");
});

Deno.test("plan checks against the data: a DGCM head needs the 7 emotions; the message names the field and the dataset's classes", () => {
  // a library whose own validator lets DGCM through (the real one does)
  const lib = { ...deps, validateModelConfig: () => {} };
  const spec = validateExperiment({
    ...base,
    variants: { a: {}, d: { model: { head: "dgcm" } } },
  });
  assert.throws(
    () =>
      resolveVariants(spec, lib, {
        classes: ["negative", "positive", "surprise"],
        file: "x.yaml",
      }),
    /^SpecError: x\.yaml: variants\.d\.model\.head: the DGCM head needs the 7 emotion classes \[.*\]; dataset synthetic-3db has \[negative, positive, surprise\]$/,
  );
  // without a class list, the class count of a known dataset is enough
  assert.throws(
    () => resolveVariants(spec, lib, { file: "x.yaml" }),
    /x\.yaml: variants\.d\.model\.head: the DGCM head needs the 7 emotion classes .*; dataset synthetic-3db has 3 classes/,
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

Deno.test("absurd model sizes are refused with the estimated count and the limit, naming the field", () => {
  const big = validateExperiment({
    ...base,
    model: { head: "linear", dims: [8, 16, 32, 1e9] },
  });
  assert.throws(
    () => resolveVariants(big, deps, { file: "b.yaml" }),
    /^SpecError: b\.yaml: model\.dims: the model would have about [\d.]+e\+\d+ parameters \(limit 1e\+9\)$/,
  );
  const deep = validateExperiment({
    ...base,
    variants: { d: { model: { depths: [1, 1, 1e9, 1] } } },
  });
  assert.throws(
    () => resolveVariants(deep, deps, { file: "b.yaml" }),
    /b\.yaml: variants\.d\.model\.depths: the model would have about [\d.]+e\+\d+ parameters/,
  );
  const wide = validateExperiment({
    ...base,
    dataset: { ...base.dataset, imageSize: 65536 },
  });
  assert.throws(
    () =>
      resolveVariants(wide, { ...deps, validateModelConfig: () => {} }, {
        file: "b.yaml",
      }),
    /b\.yaml: dataset\.imageSize: one sample's largest activation would hold about [\d.]+e\+\d+ values \(limit 2\^30\)/,
  );
});

Deno.test("grid errors name the spec file", () => {
  const spec = validateExperiment({
    ...base,
    grid: { "model.windowSize": ["x"] },
  });
  assert.throws(
    () => resolveVariants(spec, deps, { file: "g.yaml" }),
    /^SpecError: g\.yaml: grid\.model\.windowSize: /,
  );
});
