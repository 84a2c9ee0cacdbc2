import { strict as assert } from "node:assert";
import { resolveVariants, shardJobs } from "./plan.ts";
import { validateExperiment } from "./spec.ts";
import { deps } from "./testdata/stand_in_deps.ts";
import { base, plan } from "./testdata/plan_helper.ts";

Deno.test("fixed split: one job per variant × seed, 200 epochs by default", async () => {
  const { jobs } = await plan({ ...base, protocol: { kind: "fixedSplit" } });
  assert.equal(jobs.length, 4);
  assert.ok(
    jobs.every((j) => j.fold.name === "split" && j.recipe.epochs === 200),
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
