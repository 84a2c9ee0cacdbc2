import { strict as assert } from "node:assert";
import { CliError, SpecError } from "./errors.ts";
import {
  optionOrigins,
  parseRunArgs,
  parseSet,
  resolveExperiment,
} from "./overrides.ts";
import { expandVariants } from "./plan.ts";
import { validateExperiment } from "./spec.ts";
import example from "./testdata/example_spec.ts";

const raw = example as unknown as Record<string, unknown>;

Deno.test("parseRunArgs reads every flag", () => {
  const a = parseRunArgs([
    "spec.ts",
    "--preset",
    "smoke",
    "--set",
    "train.epochs=3",
    "--set",
    "model.scans=[h, v]",
    "--variant",
    "hv",
    "--variant",
    "h",
    "--seed",
    "1,2",
    "--seed",
    "7",
    "--data",
    "casme2=/data/CASME II",
    "--backend",
    "cpu",
    "--out",
    "/tmp/r",
    "--jobs",
    "3",
    "--shard",
    "2/4",
    "--dry-run",
    "--verbose",
  ], 2);
  assert.equal(a.spec, "spec.ts");
  assert.equal(a.preset, "smoke");
  assert.deepEqual(a.sets, [{ path: "train.epochs", value: 3, text: "3" }, {
    path: "model.scans",
    value: ["h", "v"],
    text: "[h, v]",
  }]);
  assert.deepEqual(a.variants, ["hv", "h"]);
  assert.deepEqual(a.seeds, [1, 2, 7]);
  assert.deepEqual(a.data, { name: "casme2", root: "/data/CASME II" });
  assert.equal(a.backend, "cpu");
  assert.equal(a.out, "/tmp/r");
  assert.equal(a.jobs, 3);
  assert.deepEqual(a.shard, { index: 2, count: 4 });
  assert.equal(a.dryRun, true);
  assert.equal(a.verbose, true);
  const d = parseRunArgs(["s.yaml"], 5);
  assert.equal(d.jobs, 5, "default jobs = cores");
  assert.equal(d.out, "runs");
  assert.equal(d.dryRun, false);
  assert.equal(d.verbose, false);
});

Deno.test("--set values are YAML scalars and flow collections", () => {
  assert.deepEqual(parseSet("a.b=1e-4"), {
    path: "a.b",
    value: 1e-4,
    text: "1e-4",
  });
  assert.deepEqual(parseSet("a=true"), {
    path: "a",
    value: true,
    text: "true",
  });
  assert.deepEqual(parseSet("a=null"), {
    path: "a",
    value: null,
    text: "null",
  });
  assert.deepEqual(parseSet("a=hello"), {
    path: "a",
    value: "hello",
    text: "hello",
  });
  assert.deepEqual(parseSet("a={x: 1, y: [2]}"), {
    path: "a",
    value: { x: 1, y: [2] },
    text: "{x: 1, y: [2]}",
  });
  assert.deepEqual(parseSet("a=x=y"), { path: "a", value: "x=y", text: "x=y" });
});

Deno.test("bad flags raise CliError naming the flag and value", () => {
  const cases: [string[], RegExp][] = [
    [["s.ts", "--jobs", "0"], /--jobs: expected an integer ≥ 1, got 0/],
    [["s.ts", "--jobs", "two"], /--jobs: expected an integer, got "two"/],
    [["s.ts", "--shard", "3/2"], /--shard: expected 1 ≤ I ≤ N, got 3\/2/],
    [
      ["s.ts", "--shard", "1-2"],
      /--shard: expected I\/N \(e\.g\. 1\/4\), got "1-2"/,
    ],
    [["s.ts", "--seed=-1"], /--seed: expected an integer, got "-1"/],
    [
      ["s.ts", "--backend", "cuda"],
      /--backend: expected one of wasm, cpu, webgpu, tensorflow, got "cuda"/,
    ],
    [["s.ts", "--data", "casme2"], /--data: expected NAME=ROOT, got "casme2"/],
    [["s.ts", "--set", "novalue"], /--set: expected PATH=VALUE, got "novalue"/],
    [["s.ts", "--set", "a..b=1"], /--set: invalid field path "a\.\.b"/],
    [
      ["s.ts", "--set", "a=[1, 2"],
      /--set a: cannot parse value "\[1, 2" as YAML/,
    ],
    [["s.ts", "--frobnicate"], /Unknown option '--frobnicate'/],
    [["s.ts", "--jobs"], /--jobs/],
    [[], /missing the spec file/],
    [["a.ts", "b.ts"], /expected one spec file, got 2: a\.ts b\.ts/],
  ];
  for (const [args, re] of cases) {
    assert.throws(() => parseRunArgs(args, 2), (e: unknown) => {
      assert.ok(e instanceof CliError, `${args.join(" ")}: ${e}`);
      assert.match(e.message, re, args.join(" "));
      return true;
    });
  }
  assert.equal(parseRunArgs(["--help"]).help, true);
});

Deno.test("presets apply over the spec, then --set, --seed, --data, --backend", () => {
  const spec = resolveExperiment(raw, {
    preset: "smoke",
    sets: [{ path: "train.optimizer.lr", value: 0.5 }, {
      path: "variants.hv.model.scans",
      value: ["v", "h"],
    }],
    seeds: [9],
    data: { name: "dfme", root: "/corpora/dfme" },
    backend: "cpu",
  }, "ex.ts");
  assert.equal(spec.train.epochs, 1, "from the preset");
  assert.equal(spec.train.batchSize, 8, "untouched by the preset");
  assert.equal(spec.train.optimizer?.lr, 0.5);
  assert.deepEqual(spec.variants.hv.model?.scans, ["v", "h"]);
  assert.deepEqual(spec.seeds, [9], "--seed replaces the preset's seeds");
  assert.equal(spec.dataset.name, "dfme");
  assert.equal(spec.dataset.root, "/corpora/dfme");
  assert.equal(spec.dataset.imageSize, 64);
  assert.equal(spec.backend, "cpu");
  const paper = resolveExperiment(raw, { preset: "paper" });
  assert.deepEqual(paper.model.dims, [128, 256, 512, 1024]);
  assert.deepEqual(paper.seeds, [0, 1, 2]);
});

Deno.test("override errors say where they came from", () => {
  assert.throws(
    () => resolveExperiment(raw, { preset: "nope" }, "ex.ts"),
    (e: unknown) => {
      assert.ok(e instanceof CliError);
      assert.equal(
        e.message,
        '--preset: "nope" is not a preset of ex.ts (known: smoke, paper)',
      );
      return true;
    },
  );
  assert.throws(
    () =>
      resolveExperiment(raw, {
        sets: [{ path: "train.epochs", value: "many" }],
      }, "ex.ts"),
    (e: unknown) => {
      assert.ok(e instanceof SpecError);
      assert.equal(
        e.message,
        'ex.ts (with --set train.epochs): train.epochs: expected number, got "many" (the value came from --set train.epochs="many")',
      );
      return true;
    },
  );
  // a cross-field error is put on the --set that caused it (the second)
  assert.throws(
    () =>
      resolveExperiment(raw, {
        sets: [parseSet("train.epochs=2"), parseSet("model.windowSize=0")],
        seeds: [1],
      }, "ex.ts"),
    (e: unknown) => {
      assert.ok(e instanceof SpecError);
      assert.match(
        e.message,
        /^ex\.ts \(with --set train\.epochs, --set model\.windowSize, --seed\): model\.windowSize: .* \(the value came from --set model\.windowSize=0\)$/,
      );
      return true;
    },
  );
  assert.throws(
    () => resolveExperiment(raw, { seeds: [-1] }, "ex.ts"),
    /\(the value came from --seed -1\)/,
  );
  assert.throws(
    () => resolveExperiment(raw, { sets: [{ path: "name.x", value: 1 }] }),
    /--set name\.x: cannot set name\.x: name is "example-scans"/,
  );
  const badPreset = {
    ...raw,
    presets: { p: { train: { epochs: 1 } }, q: { train: { epochs: 0 } } },
  };
  assert.throws(
    () => resolveExperiment(badPreset, {}, "ex.ts"),
    /ex\.ts: presets\.q\.train\.epochs: expected an integer ≥ 1/,
  );
});

Deno.test("a preset whose merge breaks a cross-field rule is reported under presets.NAME", () => {
  const spec = {
    ...raw,
    presets: { tiny: { dataset: { imageSize: 0 } } },
  };
  assert.throws(
    () => resolveExperiment(spec, { preset: "tiny" }, "ex.ts"),
    /ex\.ts: presets\.tiny\.dataset\.imageSize: expected an integer ≥ 1/,
  );
});

Deno.test("grids generate named variants over every declared variant", () => {
  const spec = validateExperiment({
    ...raw,
    presets: {},
    variants: {
      h: { model: { scans: ["h"] } },
      hv: { model: { scans: ["h", "v"] } },
    },
    grid: { "model.windowSize": [2, 4], "train.optimizer.lr": [0.1, 0.01] },
  });
  const vars = expandVariants(spec);
  assert.deepEqual([...vars.keys()], [
    "h[windowSize=2,optimizer.lr=0.1]",
    "h[windowSize=2,optimizer.lr=0.01]",
    "h[windowSize=4,optimizer.lr=0.1]",
    "h[windowSize=4,optimizer.lr=0.01]",
    "hv[windowSize=2,optimizer.lr=0.1]",
    "hv[windowSize=2,optimizer.lr=0.01]",
    "hv[windowSize=4,optimizer.lr=0.1]",
    "hv[windowSize=4,optimizer.lr=0.01]",
  ]);
  assert.deepEqual(vars.get("hv[windowSize=4,optimizer.lr=0.01]"), {
    model: { scans: ["h", "v"], windowSize: 4 },
    train: { optimizer: { lr: 0.01 } },
  });
  const noVariants = validateExperiment({
    ...raw,
    presets: {},
    variants: {},
    grid: { "model.scans": [["h"], ["v", "h"]] },
  });
  assert.deepEqual([...expandVariants(noVariants).keys()], [
    'scans=["h"]',
    'scans=["v","h"]',
  ]);
  const bad = validateExperiment({
    ...raw,
    presets: {},
    grid: { "model.scans": [["q"]] },
  });
  assert.throws(
    () => expandVariants(bad),
    /grid\.model\.scans: expected \("h"/,
  );
});

Deno.test("train.microBatchSize is an optional positive integer reaching the recipe", () => {
  const spec = resolveExperiment(raw, {
    sets: [parseSet("train.microBatchSize=2")],
  }, "ex.ts");
  assert.equal(spec.train.microBatchSize, 2);
  assert.equal(
    (validateExperiment(raw).train as { microBatchSize?: number })
      .microBatchSize,
    undefined,
  );
  assert.throws(
    () =>
      resolveExperiment(raw, {
        sets: [parseSet("train.microBatchSize=0")],
      }, "ex.ts"),
    /train\.microBatchSize: expected an integer ≥ 1 \(the value came from --set train\.microBatchSize=0\)/,
  );
});

Deno.test("a preset's dataset.options: null drops the options it would inherit", () => {
  const base = {
    ...raw,
    dataset: {
      name: "synthetic-dfme",
      imageSize: 32,
      options: { subjects: 40 },
    },
    presets: {
      real: { dataset: { name: "dfme", imageSize: 224, options: null } },
      merged: { dataset: { options: { seed: 3 } } },
    },
  };
  const real = resolveExperiment(base, { preset: "real" });
  assert.equal(real.dataset.name, "dfme");
  assert.equal(real.dataset.options, null);
  const merged = resolveExperiment(base, { preset: "merged" });
  assert.deepEqual(merged.dataset.options, { subjects: 40, seed: 3 });
});

Deno.test("--set of a non-finite number is a spec error attributed to the --set", () => {
  assert.throws(
    () =>
      resolveExperiment(
        raw,
        { sets: [parseSet("train.optimizer.lr=.inf")] },
        "ex.ts",
      ),
    (e: unknown) => {
      assert.ok(e instanceof SpecError);
      assert.equal(
        e.message,
        "ex.ts (with --set train.optimizer.lr): train.optimizer.lr: expected a finite number, got Infinity (the value came from --set train.optimizer.lr=.inf)",
      );
      return true;
    },
  );
});

Deno.test("optionOrigins says which preset, --set or spec put each dataset option there", () => {
  const spec = {
    ...raw,
    dataset: { ...(raw.dataset as object), options: { subjects: 6, seed: 2 } },
    presets: { smoke: { dataset: { options: { samplesPerSubject: 2 } } } },
  };
  const origins = optionOrigins(spec, {
    preset: "smoke",
    sets: [parseSet("dataset.options.seed=3")],
  });
  assert.deepEqual(Object.fromEntries(origins), {
    subjects: "the spec",
    samplesPerSubject: "--preset smoke",
    seed: "--set dataset.options.seed=3",
  });
  // options: null in a preset drops what the spec had
  const dropped = optionOrigins({
    ...spec,
    presets: { paper: { dataset: { options: null } } },
  }, { preset: "paper" });
  assert.deepEqual([...dropped.keys()], []);
});
