import { strict as assert } from "node:assert";
import * as v from "valibot";
import example from "./testdata/example_spec.ts";
import { SpecError } from "./errors.ts";
import {
  ExperimentSchema,
  TrainOverridesSchema,
  TrainRecipeSchema,
} from "./schema.ts";
import { validateExperiment } from "./spec.ts";
import { resolveVariants } from "./plan.ts";
import { deps } from "./testdata/stand_in_deps.ts";

const minimal = {
  name: "m",
  dataset: { name: "synthetic-3db", imageSize: 16 },
  protocol: { kind: "loso" },
};

function issuesOf(spec: unknown, file = "spec.yaml"): string[] {
  try {
    validateExperiment(spec, file);
  } catch (e) {
    assert.ok(e instanceof SpecError);
    return e.message.split("\n");
  }
  assert.fail("expected a SpecError");
}

Deno.test("a minimal spec gets the paper's recipe defaults and protocol defaults", () => {
  const spec = validateExperiment(minimal);
  assert.deepEqual(spec.protocol, {
    kind: "loso",
    groupBy: "subject",
    breakdownBy: "source",
  });
  assert.deepEqual(spec.validation, { kind: "subjects", fraction: 0.1 });
  assert.deepEqual(spec.seeds, [0]);
  assert.equal(spec.backend, "wasm");
  const recipe = v.parse(TrainRecipeSchema, spec.train);
  assert.deepEqual(recipe.optimizer, {
    lr: 1e-4,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0.05,
  });
  assert.equal(recipe.schedule.warmupEpochs, 5);
  assert.equal(recipe.schedule.cooldownEpochs, 10);
  assert.equal(recipe.batchSize, 128);
  assert.equal(recipe.augment.hflip, 0.5);
  assert.notEqual(recipe.earlyStopping, null);
  assert.equal(
    recipe.epochs,
    undefined,
    "epochs default by protocol, at resolution",
  );
});

Deno.test("overrides schema leaves absent train fields absent (no defaults before merging)", () => {
  assert.deepEqual(v.parse(TrainOverridesSchema, { optimizer: { lr: 1 } }), {
    optimizer: { lr: 1 },
  });
});

Deno.test("the example TS spec validates", () => {
  const spec = validateExperiment(example);
  assert.equal(spec.name, "example-scans");
  assert.deepEqual(Object.keys(spec.variants), ["h", "hv", "all4"]);
  assert.ok(v.is(ExperimentSchema, example));
});

Deno.test("unknown keys are errors naming the file and the full path", () => {
  assert.deepEqual(issuesOf({ ...minimal, modle: {} }), [
    'spec.yaml: modle: unknown key "modle"',
  ]);
  assert.deepEqual(
    issuesOf({ ...minimal, variants: { hv: { model: { windowsize: 7 } } } }),
    ['spec.yaml: variants.hv.model.windowsize: unknown key "windowsize"'],
  );
  assert.deepEqual(
    issuesOf({ ...minimal, train: { optimizer: { learningRate: 1 } } }),
    ['spec.yaml: train.optimizer.learningRate: unknown key "learningRate"'],
  );
});

Deno.test("bad values name their path", () => {
  const lines = issuesOf({
    ...minimal,
    protocol: { kind: "lso" },
    seeds: [1.5],
    train: { optimizer: { lr: -1 } },
    variants: { hv: { model: { scans: ["h", "x"] } } },
    validation: { kind: "subjects", fraction: 1.5 },
  });
  assert.ok(
    lines.includes(
      'spec.yaml: protocol.kind: expected kind ("loso" | "fixedSplit" | "kfold"), got "lso"',
    ),
    lines.join("\n"),
  );
  assert.ok(
    lines.includes("spec.yaml: seeds.0: expected an integer seed"),
    lines.join("\n"),
  );
  assert.ok(
    lines.includes("spec.yaml: train.optimizer.lr: expected a number > 0"),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) =>
      l.startsWith(
        'spec.yaml: variants.hv.model.scans.1: expected ("h" | "v"',
      ) && l.endsWith('got "x"')
    ),
    lines.join("\n"),
  );
  assert.ok(
    lines.includes(
      "spec.yaml: validation.fraction: expected a fraction in (0, 1)",
    ),
    lines.join("\n"),
  );
});

Deno.test("missing required fields and wrong kinds are reported", () => {
  const lines = issuesOf({ name: "bad name!", protocol: { kind: "kfold" } });
  assert.ok(
    lines.some((l) =>
      l.startsWith("spec.yaml: name: expected a name of letters")
    ),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) => l === "spec.yaml: dataset: required field is missing"),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) => l === "spec.yaml: protocol.k: required field is missing"),
    lines.join("\n"),
  );
});

Deno.test("grid paths must point into model. or train.", () => {
  const lines = issuesOf({
    ...minimal,
    grid: { "dataset.imageSize": [8, 16] },
  });
  assert.deepEqual(lines, [
    "spec.yaml: grid.dataset.imageSize: expected a field path starting with model. or train.",
  ]);
});

Deno.test("model configs are validated per variant with the variant's path", () => {
  const spec = validateExperiment({
    ...minimal,
    model: { head: "linear" },
    variants: { ok: {}, hv: { model: { scans: ["h", "v"], windowSize: 5 } } },
  });
  assert.throws(
    () => resolveVariants(spec, deps, { file: "t.ts" }),
    (e: unknown) => {
      assert.ok(e instanceof SpecError);
      assert.equal(
        e.message,
        "t.ts: variants.hv.model.windowSize: expected a window that tiles 4×4, got 5",
      );
      return true;
    },
  );
  // the same field set on the spec's model is attributed to `model`
  const spec2 = validateExperiment({
    ...minimal,
    model: { head: "linear", windowSize: 3 },
  });
  assert.throws(
    () => resolveVariants(spec2, deps),
    /<spec>: model\.windowSize: expected a window that tiles 4×4, got 3/,
  );
});

Deno.test("early stopping without validation data is an error; numClasses must match the dataset", () => {
  const spec = validateExperiment({
    ...minimal,
    model: { head: "linear" },
    validation: { kind: "none" },
  });
  assert.throws(
    () => resolveVariants(spec, deps),
    /train\.earlyStopping: early stopping needs validation data/,
  );
  const ok = validateExperiment({
    ...minimal,
    model: { head: "linear" },
    validation: { kind: "none" },
    train: { earlyStopping: null },
  });
  assert.equal(resolveVariants(ok, deps)[0].recipe.earlyStopping, null);
  const bad = validateExperiment({
    ...minimal,
    variants: { x: { model: { head: "linear", numClasses: 5 } } },
  });
  assert.throws(
    () => resolveVariants(bad, deps),
    /variants\.x\.model\.numClasses: dataset synthetic-3db has 3 classes, got 5/,
  );
});

Deno.test("train.checkpoint is an optional boolean: absent stays absent (job hashes unchanged), a non-boolean names its path", () => {
  assert.equal(v.parse(TrainRecipeSchema, {}).checkpoint, undefined);
  assert.equal(
    v.parse(TrainRecipeSchema, { checkpoint: true }).checkpoint,
    true,
  );
  const lines = issuesOf({ ...minimal, train: { checkpoint: "yes" } });
  assert.ok(
    lines.some((l) => l.startsWith("spec.yaml: train.checkpoint: ")),
    lines.join("\n"),
  );
});

Deno.test("non-finite numbers are refused where they are written, one line each", () => {
  const lines = issuesOf({
    ...minimal,
    model: { mlpRatio: Infinity, dropout: NaN },
    train: { optimizer: { lr: Infinity, weightDecay: -Infinity } },
    dataset: { ...minimal.dataset, options: { tvl1: { tau: -Infinity } } },
    report: { paper: { a: { overall: { uf1: NaN } } } },
  });
  assert.deepEqual(lines.sort(), [
    "spec.yaml: dataset.options.tvl1.tau: expected a finite number, got -Infinity",
    "spec.yaml: model.dropout: expected a finite number, got NaN",
    "spec.yaml: model.mlpRatio: expected a finite number, got Infinity",
    "spec.yaml: report.paper.a.overall.uf1: expected a finite number, got NaN",
    "spec.yaml: train.optimizer.lr: expected a finite number, got Infinity",
    "spec.yaml: train.optimizer.weightDecay: expected a finite number, got -Infinity",
  ]);
});

Deno.test("an empty variant body (YAML `name:` with nothing under it) says so instead of `unknown key null`", () => {
  assert.deepEqual(issuesOf({ ...minimal, variants: { foo: null } }), [
    "spec.yaml: variants.foo: expected an object, got null (an empty body: write `foo: {}` for no overrides)",
  ]);
  assert.deepEqual(issuesOf({ ...minimal, model: 5 }), [
    "spec.yaml: model: expected an object, got 5",
  ]);
});
