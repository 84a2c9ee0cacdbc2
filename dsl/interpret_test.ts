import { strict as assert } from "node:assert";
import { join } from "node:path";
import { runExperiment } from "./interpret.ts";
import { prepare } from "./prepare.ts";
import type { ReportInput } from "./report/types.ts";
import { summarizeReport } from "./report/table.ts";
import { planJobs, resolveVariants } from "./plan.ts";
import { foldsFor } from "./protocols.ts";
import { validateExperiment } from "./spec.ts";
import { RunStore } from "./store.ts";
import { deps, standInDataset } from "./testdata/stand_in_deps.ts";

const DEPS_MODULE =
  new URL("./testdata/stand_in_deps.ts", import.meta.url).href;

const spec = validateExperiment({
  name: "tiny-loso",
  description: "stand-in experiment",
  dataset: {
    name: "synthetic-3db",
    imageSize: 8,
    options: { perClass: 4, subjects: 4 },
  },
  protocol: { kind: "loso" },
  validation: { kind: "none" },
  model: { head: "linear", dropout: 0.2 },
  variants: { a: {}, b: { model: { stemDim: 4 } } },
  train: {
    epochs: 2,
    batchSize: 4,
    optimizer: { lr: 0.2 },
    earlyStopping: null,
  },
  seeds: [3],
  backend: "cpu",
  report: { paper: { a: { overall: { uf1: 0.5 } } } },
});

async function jobFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    if (!e.isDirectory || e.name === "report") continue;
    for (const f of ["predictions.json", "metrics.json"]) {
      out.set(`${e.name}/${f}`, await Deno.readTextFile(join(dir, e.name, f)));
    }
  }
  return out;
}

Deno.test("serial and 2-worker runs write identical predictions and metrics", async () => {
  const out1 = await Deno.makeTempDir(), out2 = await Deno.makeTempDir();
  const s1 = await runExperiment(spec, {
    outDir: out1,
    jobs: 1,
    deps,
    depsModule: DEPS_MODULE,
    progress: false,
  });
  assert.equal(s1.planned, 2 * 1 * 4);
  assert.equal(s1.ran, 8);
  assert.deepEqual(s1.failed, []);
  const s2 = await runExperiment(spec, {
    outDir: out2,
    jobs: 2,
    deps,
    depsModule: DEPS_MODULE,
    progress: false,
  });
  assert.deepEqual(s2.failed, []);
  assert.equal(s2.ran, 8);
  const f1 = await jobFiles(s1.dir), f2 = await jobFiles(s2.dir);
  assert.equal(f1.size, 16);
  assert.deepEqual(f2, f1);
  // the models learned something real: predictions are not constant
  const preds = [...f1.entries()].filter(([k]) =>
    k.endsWith("predictions.json")
  )
    .flatMap(([, v]) => JSON.parse(v) as { pred: number }[]);
  assert.equal(preds.length, 2 * 12);
  assert.ok(new Set(preds.map((p) => p.pred)).size > 1);
  // report rows: variant × (overall + each source); LOSO concatenates all folds
  const report = JSON.parse(
    await Deno.readTextFile(join(s1.dir, "report", "report.json")),
  );
  assert.deepEqual(
    report.rows.map((r: { variant: string; group: string }) =>
      `${r.variant}/${r.group}`
    ),
    ["a/overall", "a/even", "a/odd", "b/overall", "b/even", "b/odd"],
  );
  assert.deepEqual(
    report.rows.slice(0, 3).map((r: { seeds: { n: number }[] }) =>
      r.seeds[0].n
    ),
    [12, 6, 6],
  );
  assert.deepEqual(report.rows[0].paper, { uf1: 0.5 });
  assert.match(report.description, /all 8 jobs finished/);
  await Deno.remove(out1, { recursive: true });
  await Deno.remove(out2, { recursive: true });
});

Deno.test("resume after a crash: unfinished jobs are redone, finished ones untouched", async () => {
  const out = await Deno.makeTempDir();
  const first = await runExperiment(spec, {
    outDir: out,
    jobs: 1,
    deps,
    variants: ["a"],
    progress: false,
  });
  assert.equal(first.ran, 4);
  const store = new RunStore(out, spec.name);
  const ds = await standInDataset({
    name: "synthetic-3db",
    imageSize: 8,
    channels: "uv",
    options: spec.dataset.options ?? undefined,
  });
  const jobs = planJobs(
    spec,
    resolveVariants(spec, deps, { only: ["a"] }),
    foldsFor(spec.protocol, ds.samples),
  );
  // simulate a crash in job 1: it had written job.json and some epochs, but not done.json
  const crashed = jobs[1];
  await Deno.remove(store.path(crashed, "done"));
  await Deno.remove(store.path(crashed, "predictions"));
  const before = new Map<string, Deno.FileInfo>();
  for (const j of jobs) {
    if (j !== crashed) {
      before.set(j.id, await Deno.stat(store.path(j, "done")));
    }
  }
  const expected = await Deno.readTextFile(
    join(first.dir, jobs[0].id, "predictions.json"),
  );

  const second = await runExperiment(spec, {
    outDir: out,
    jobs: 1,
    deps,
    variants: ["a"],
    progress: false,
  });
  assert.equal(second.skipped, 3);
  assert.equal(second.ran, 1);
  assert.equal(second.missing, 0);
  assert.ok(await store.isDone(crashed));
  for (const j of jobs) {
    if (j === crashed) continue;
    assert.equal(
      (await Deno.stat(store.path(j, "done"))).mtime?.getTime(),
      before.get(j.id)!.mtime?.getTime(),
    );
  }
  assert.equal(
    await Deno.readTextFile(join(first.dir, jobs[0].id, "predictions.json")),
    expected,
  );
  const third = await runExperiment(spec, {
    outDir: out,
    jobs: 1,
    deps,
    variants: ["a"],
    progress: false,
  });
  assert.equal(third.ran, 0);
  assert.equal(third.skipped, 4);
  await Deno.remove(out, { recursive: true });
});

Deno.test("shards run disjoint parts; the report says how many jobs are missing", async () => {
  const out = await Deno.makeTempDir();
  const a = await runExperiment(spec, {
    outDir: out,
    jobs: 1,
    deps,
    shard: { index: 1, count: 2 },
    progress: false,
  });
  assert.equal(a.selected, 4);
  assert.equal(a.ran, 4);
  assert.equal(a.missing, 4);
  const partial = JSON.parse(
    await Deno.readTextFile(join(a.dir, "report", "report.json")),
  );
  assert.match(partial.description, /4 of 8 jobs missing/);
  const b = await runExperiment(spec, {
    outDir: out,
    jobs: 1,
    deps,
    shard: { index: 2, count: 2 },
    progress: false,
  });
  assert.equal(b.ran, 4);
  assert.equal(b.skipped, 0, "shard 2 shares no job with shard 1");
  assert.equal(b.missing, 0);
  const full = JSON.parse(
    await Deno.readTextFile(join(b.dir, "report", "report.json")),
  );
  assert.match(full.description, /all 8 jobs finished/);
  await Deno.remove(out, { recursive: true });
});

Deno.test("jobIds runs exactly the jobs named, report: false writes no report, and an id not in the plan is refused", async () => {
  const out = await Deno.makeTempDir();
  const store = new RunStore(out, spec.name);
  const first = await runExperiment(spec, {
    outDir: out,
    jobs: 1,
    deps,
    progress: false,
    report: false,
    jobIds: [],
  });
  assert.equal(first.selected, 0);
  const plan = (await prepare(spec, deps)).jobs;
  const chosen = [plan[5].id, plan[1].id];
  const s = await runExperiment(spec, {
    outDir: out,
    jobs: 1,
    deps,
    progress: false,
    report: false,
    jobIds: chosen,
  });
  assert.equal(s.selected, 2);
  assert.equal(s.ran, 2);
  assert.equal(s.missing, plan.length - 2);
  assert.deepEqual(s.reportFiles, []);
  for (const job of plan) {
    assert.equal(await store.isDone(job), chosen.includes(job.id), job.id);
  }
  assert.equal(
    await Deno.stat(join(s.dir, "report")).then(() => true, () => false),
    false,
    "no report folder",
  );
  await assert.rejects(
    runExperiment(spec, {
      outDir: out,
      jobs: 1,
      deps,
      progress: false,
      jobIds: ["0123456789abcdef"],
      file: "x.ts",
    }),
    /job 0123456789abcdef is not in the plan of x\.ts \(were the spec or its flags changed since the submission\?\)/,
  );
  await Deno.remove(out, { recursive: true });
});

Deno.test("an aborted run keeps finished jobs and leaves the in-flight one unfinished", async () => {
  const out = await Deno.makeTempDir();
  const controller = new AbortController();
  let finished = 0;
  const counting = {
    ...deps,
    train: async (input: Parameters<typeof deps.train>[0]) => {
      if (finished === 2) {
        // abort in the middle of the third job's training
        const onStep = input.onStep;
        input = {
          ...input,
          onStep: (s, t) => {
            onStep?.(s, t);
            if (s === 2) controller.abort(new Error("interrupted"));
          },
        };
      }
      const r = await deps.train(input);
      finished++;
      return r;
    },
  };
  const s = await runExperiment(spec, {
    outDir: out,
    jobs: 1,
    deps: counting,
    signal: controller.signal,
    progress: false,
  });
  assert.equal(s.interrupted, true);
  assert.equal(s.ran, 2);
  assert.deepEqual(s.failed, []);
  assert.equal(s.missing, 6);
  const resumed = await runExperiment(spec, {
    outDir: out,
    jobs: 1,
    deps,
    progress: false,
  });
  assert.equal(resumed.skipped, 2);
  assert.equal(resumed.ran, 6);
  await Deno.remove(out, { recursive: true });
});

const OOM_DEPS = new URL("./testdata/oom_deps.ts", import.meta.url).href;

/** "big" (batch 8) aborts the stand-in backend; "small" (batch 4) fits. */
const oomSpec = (big: Record<string, unknown> = {}) =>
  validateExperiment({
    ...spec,
    name: "tiny-oom",
    presets: {},
    report: {},
    variants: {
      big: { train: { batchSize: 8, ...big } },
      small: {},
    },
  });

for (const jobs of [1, 2]) {
  Deno.test(`a job that exhausts the backend's memory fails with a clear message and the other jobs still run (${jobs} worker${jobs > 1 ? "s" : ""})`, async () => {
    const out = await Deno.makeTempDir();
    try {
      const s = await runExperiment(oomSpec(), {
        outDir: out,
        jobs,
        depsModule: OOM_DEPS,
        progress: false,
        skipBackendInit: true,
      });
      assert.equal(s.planned, 8);
      assert.equal(s.ran, 4, JSON.stringify(s.failed, null, 1));
      assert.equal(s.failed.length, 4);
      for (const f of s.failed) {
        assert.equal(f.variant, "big");
        assert.match(
          f.error,
          new RegExp(
            `^job ${f.id} \\(big, seed 3, fold ${f.fold}\\) ran out of cpu backend memory \\(RuntimeError: Aborted\\(\\)\\. Build with -sASSERTIONS for more info\\.\\) at batch size 8, input 8×8×2: set --set train\\.microBatchSize=4 \\(or a smaller train\\.batchSize\\) and --set train\\.checkpoint=true \\(token blocks recomputed in the backward pass\\)$`,
          ),
        );
      }
      assert.equal(s.missing, 4);
      // the finished jobs are kept: a rerun with micro-batches runs only the
      // rest (in workers: this test isolate's stand-in backend stays lost,
      // as a real one would)
      const again = await runExperiment(oomSpec({ microBatchSize: 4 }), {
        outDir: out,
        jobs: 2,
        depsModule: OOM_DEPS,
        progress: false,
        skipBackendInit: true,
      });
      assert.equal(again.skipped, 4);
      assert.equal(again.ran, 4);
      assert.deepEqual(again.failed, []);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  });
}

Deno.test("without a deps module for a fresh worker, the jobs after a backend abort are reported as not run", async () => {
  const out = await Deno.makeTempDir();
  try {
    const { deps: oom } = await import(OOM_DEPS);
    const s = await runExperiment(oomSpec(), {
      outDir: out,
      jobs: 1,
      deps: oom,
      progress: false,
      skipBackendInit: true,
    });
    assert.equal(s.ran, 0);
    assert.equal(s.failed.length, 8);
    assert.match(s.failed[0].error, /ran out of cpu backend memory/);
    for (const f of s.failed.slice(1)) {
      assert.match(
        f.error,
        new RegExp(
          `^not run: the backend was lost when job ${
            s.failed[0].id
          } ran out of memory; run again`,
        ),
      );
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("report columns follow report.groups, not the alphabetical order of sources", async () => {
  const out = await Deno.makeTempDir();
  try {
    const grouped = validateExperiment({
      ...spec,
      name: "tiny-groups",
      presets: {},
      variants: { a: {} },
      protocol: { kind: "loso", breakdownBy: "source" },
      report: { groups: ["overall", "odd", "even"] },
    });
    let captured: ReportInput | undefined;
    await runExperiment(grouped, {
      outDir: out,
      jobs: 1,
      deps: {
        ...deps,
        writeReport: (input) => {
          captured = input;
          return Promise.resolve([]);
        },
      },
      progress: false,
      skipBackendInit: true,
    });
    assert.ok(captured);
    assert.deepEqual(captured.groups, ["overall", "odd", "even"]);
    assert.deepEqual(
      [...new Set(captured.rows.map((r) => r.group))].sort(),
      ["even", "odd", "overall"],
    );
    assert.deepEqual(summarizeReport(captured).groups, [
      "overall",
      "odd",
      "even",
    ]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("job.json records the backend initBackend reported: the runtime's BackendInfo with its BLAS setting (serial), the worker's backend (2 workers)", async () => {
  const { initBackend } = await import("../model/backend/runtime.ts");
  const { blasStatus } = await import("../model/backend/blas/mod.ts");
  const contexts = async (dir: string) => {
    const out = [];
    for await (const e of Deno.readDir(dir)) {
      if (!e.isDirectory || e.name === "report") continue;
      const job = JSON.parse(
        await Deno.readTextFile(join(dir, e.name, "job.json")),
      );
      out.push(job.context);
    }
    return out;
  };
  const out1 = await Deno.makeTempDir(), out2 = await Deno.makeTempDir();
  try {
    // serial: the real runtime's initBackend, on cpu (the stand-ins' backend)
    const s1 = await runExperiment(spec, {
      outDir: out1,
      jobs: 1,
      variants: ["a"],
      deps: { ...deps, initBackend },
      progress: false,
    });
    assert.deepEqual(s1.failed, []);
    assert.equal(s1.ran, 4);
    const status = blasStatus();
    const serial = await contexts(s1.dir);
    assert.equal(serial.length, 4);
    for (const c of serial) {
      assert.equal(c.backend.name, "cpu");
      assert.equal(c.backend.threads, 1);
      assert.equal(c.backend.versions.tfjs, c.versions.tfjs);
      assert.ok(c.backend.notes.length > 0);
      if (status && status.kernels.cpu) {
        // BLAS on (the default when OpenBLAS is found)
        assert.equal(c.backend.blas.path, status.path);
        assert.equal(c.backend.blas.threads, status.threads);
        assert.deepEqual(c.backend.blas.kernels, status.kernels.cpu);
        assert.ok(c.backend.notes.some((n: string) => n.startsWith("BLAS: ")));
      } else {
        assert.equal(c.backend.blas, null);
      }
    }
    // workers record what their own initBackend returned (the stand-ins'
    // returns the bare name)
    const s2 = await runExperiment(spec, {
      outDir: out2,
      jobs: 2,
      variants: ["a"],
      deps,
      depsModule: DEPS_MODULE,
      progress: false,
    });
    assert.deepEqual(s2.failed, []);
    for (const c of await contexts(s2.dir)) {
      assert.deepEqual(c.backend, { name: "cpu" });
    }
  } finally {
    await Deno.remove(out1, { recursive: true });
    await Deno.remove(out2, { recursive: true });
  }
});

Deno.test("the report input names the reference variant (default: the last), a bootstrap seed from the spec's seed, and each row's kernel set from job.json, derived for old records", async () => {
  const out = await Deno.makeTempDir();
  try {
    let captured: ReportInput | undefined;
    const capture = {
      ...deps,
      writeReport: (input: ReportInput) => {
        captured = input;
        return Promise.resolve([]);
      },
    };
    const s = await runExperiment(spec, {
      outDir: out,
      jobs: 1,
      deps: capture,
      progress: false,
    });
    assert.deepEqual(s.failed, []);
    assert.ok(captured);
    assert.equal(captured.reference, "b");
    const seed = captured.bootstrap!.seed;
    assert.ok(Number.isInteger(seed) && seed > 0);
    // the stand-ins' initBackend reports the bare name "cpu", no BLAS
    assert.ok(captured.rows.length >= 2);
    for (const r of captured.rows) assert.deepEqual(r.kernelSets, ["cpu"]);
    // an old record without context.kernelSet but with BLAS derives
    // "cpu+openblas"; a record naming its kernel set is taken as it is
    const store = new RunStore(out, spec.name);
    const jobs = (await Array.fromAsync(Deno.readDir(store.dir)))
      .filter((e) => e.isDirectory && e.name !== "report")
      .map((e) => e.name).sort();
    // records written before done.json named the kernel set and the
    // files' checksums: the set is derived from job.json's context
    const edit = async (id: string, context: Record<string, unknown>) => {
      const path = join(store.dir, id, "job.json");
      const job = JSON.parse(await Deno.readTextFile(path));
      job.context = { ...job.context, ...context };
      delete job.context.kernelSet;
      Object.assign(job.context, context);
      await Deno.writeTextFile(path, JSON.stringify(job));
      const donePath = join(store.dir, id, "done.json");
      const done = JSON.parse(await Deno.readTextFile(donePath));
      delete done.kernelSet;
      delete done.files;
      await Deno.writeTextFile(donePath, JSON.stringify(done));
      return job.variant as string;
    };
    const blasVariant = await edit(jobs[0], {
      backend: { name: "cpu", blas: { path: "libopenblas.so" } },
    });
    const wasmVariant = await edit(jobs[1], { kernelSet: "wasm" });
    await runExperiment(
      validateExperiment({ ...spec, presets: {}, report: { reference: "a" } }),
      { outDir: out, jobs: 1, deps: capture, progress: false },
    );
    assert.equal(captured.reference, "a");
    const sets = new Map(captured.rows.map((r) => [r.variant, r.kernelSets]));
    assert.ok(sets.get(blasVariant)!.includes("cpu+openblas"));
    assert.ok(sets.get(wasmVariant)!.includes("wasm"));
    const all = summarizeReport(captured).kernelSets;
    assert.ok(all.includes("cpu+openblas") && all.includes("wasm"), `${all}`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
