import { strict as assert } from "node:assert";
import { join } from "node:path";
import type { Deps } from "./deps.ts";
import { runExperiment } from "./interpret.ts";
import { readRecords } from "./report_input.ts";
import { RunStore } from "./store.ts";
import { StoreError } from "./errors.ts";
import { inTempDir } from "../train/testing.ts";
import { deps } from "./testdata/stand_in_deps.ts";
import { tinyLosoJobs, tinyLosoSpec } from "./testdata/loso_spec.ts";
import { deps as blasDeps } from "./testdata/blas_stand_in_deps.ts";

const spec = tinyLosoSpec({
  name: "resume-loso",
  description: "stand-in experiment",
  variants: { a: {}, b: { model: { stemDim: 4 } } },
  lr: 0.2,
  seeds: [3],
});

/** The stand-in deps, saving a small weights file like the model library. */
const saving: Deps = {
  ...deps,
  saveSafetensors: (_model, path) =>
    Deno.writeFile(path, new Uint8Array(256).fill(7)),
};

/** The same, on a backend that reports OpenBLAS kernels. */
const withBlas: Deps = { ...blasDeps, saveSafetensors: saving.saveSafetensors };

/** The saving deps, counting the jobs they train. */
function countingDeps(): { deps: Deps; trained: number } {
  const out = {
    trained: 0,
    deps: {
      ...saving,
      train: (input) => {
        out.trained++;
        return saving.train(input);
      },
    } as Deps,
  };
  return out;
}

const jobsOf = (only?: string[]) => tinyLosoJobs(spec, only);

const run = (out: string, extra: Parameters<typeof runExperiment>[1] = {}) =>
  runExperiment(spec, {
    outDir: out,
    jobs: 1,
    deps: saving,
    variants: ["a"],
    progress: false,
    ...extra,
  });

Deno.test("a finished job whose files were deleted, truncated, emptied or corrupted is redone on resume, and the summary names the file", async () => {
  await inTempDir(async (out) => {
    assert.equal((await run(out)).ran, 4);
    const store = new RunStore(out, spec.name);
    const jobs = await jobsOf(["a"]);
    await Deno.remove(store.path(jobs[0], "weights"));
    const jobJson = await Deno.readTextFile(store.path(jobs[1], "job"));
    await Deno.writeTextFile(store.path(jobs[1], "job"), jobJson.slice(0, 20));
    await Deno.writeTextFile(store.path(jobs[2], "predictions"), "[]");
    await Deno.writeTextFile(store.path(jobs[3], "metrics"), "{");
    const second = await run(out);
    assert.equal(second.skipped, 0);
    assert.equal(second.ran, 4);
    assert.equal(second.failed.length, 0);
    assert.equal(second.missing, 0);
    assert.ok(second.damaged.every((d) => d.redone));
    const problems = new Map(second.damaged.map((d) => [d.id, d.problem]));
    assert.match(problems.get(jobs[0].id)!, /weights\.safetensors: missing/);
    assert.match(problems.get(jobs[1].id)!, /job\.json: \d+ bytes/);
    assert.match(problems.get(jobs[2].id)!, /predictions\.json: /);
    assert.match(problems.get(jobs[3].id)!, /metrics\.json: /);
    // an emptied epoch log (the learning curves) too
    await Deno.writeTextFile(store.path(jobs[0], "epochs"), "");
    const third = await run(out);
    assert.equal(third.ran, 1);
    assert.match(third.damaged[0].problem, /epochs\.jsonl: /);
    assert.equal((await run(out)).skipped, 4);
  });
});

Deno.test("with noRedo a damaged finished job fails naming the file and is left out of the report", async () => {
  await inTempDir(async (out) => {
    await run(out);
    const store = new RunStore(out, spec.name);
    const jobs = await jobsOf(["a"]);
    const weights = store.path(jobs[0], "weights");
    await Deno.truncate(weights, 10);
    const second = await run(out, { noRedo: true });
    assert.equal(second.ran, 0);
    assert.equal(second.skipped, 3);
    assert.equal(second.failed.length, 1);
    assert.ok(second.failed[0].error.includes(weights), second.failed[0].error);
    assert.match(second.failed[0].error, /10 bytes, done\.json records 256/);
    assert.equal(second.missing, 1);
    const report = JSON.parse(
      await Deno.readTextFile(join(out, spec.name, "report", "report.json")),
    );
    assert.match(report.description, /1 of 4 jobs missing/);
  });
});

Deno.test("readRecords refuses a damaged finished job, naming the file", async () => {
  await inTempDir(async (out) => {
    await run(out);
    const store = new RunStore(out, spec.name);
    const jobs = await jobsOf(["a"]);
    assert.equal((await readRecords(store, jobs)).size, 4);
    const weights = store.path(jobs[1], "weights");
    await Deno.truncate(weights, 100);
    await assert.rejects(
      () => readRecords(new RunStore(out, spec.name), jobs),
      (e: Error) => e instanceof StoreError && e.message.includes(weights),
    );
  });
});

Deno.test("resuming a store finished with another kernel set is refused naming both sets and a job; allowMixedKernels runs and records each job's set", async () => {
  await inTempDir(async (out) => {
    await run(out, { deps: withBlas });
    const store = new RunStore(out, spec.name);
    const [a0] = await jobsOf(["a"]);
    const counting = countingDeps();
    await assert.rejects(
      () => run(out, { deps: counting.deps, variants: undefined }),
      (e: Error) =>
        e instanceof StoreError &&
        /"cpu\+openblas"/.test(e.message) && /"cpu"/.test(e.message) &&
        e.message.includes("--allow-mixed-kernels") &&
        /[0-9a-f]{16}/.test(e.message) && !e.message.includes("\n"),
    );
    assert.equal(counting.trained, 0, "nothing ran");
    const mixed = await run(out, {
      deps: counting.deps,
      variants: undefined,
      allowMixedKernels: true,
    });
    assert.equal(mixed.ran, 4);
    const b0 = (await jobsOf(["b"]))[0];
    const done = (job: typeof a0) =>
      Deno.readTextFile(store.path(job, "done")).then(JSON.parse);
    assert.equal((await done(a0)).kernelSet, "cpu+openblas");
    assert.equal((await done(b0)).kernelSet, "cpu");
    const jobJson = JSON.parse(await Deno.readTextFile(store.path(b0, "job")));
    assert.equal(jobJson.context.kernelSet, "cpu");
    // the same kernel set resumes without a word
    assert.equal((await run(out, { deps: withBlas })).skipped, 4);
  });
});

Deno.test("a report that cannot be written still returns the summary, with the failed jobs and the report's error", async () => {
  await inTempDir(async (out) => {
    const full: Deps = {
      ...saving,
      train: (input) =>
        input.modelConfig.stemDim === 4
          ? Promise.reject(new Error("No space left on device (os error 28)"))
          : saving.train(input),
      writeReport: () =>
        Promise.reject(new Error("No space left on device (os error 28)")),
    };
    const summary = await run(out, { deps: full, variants: undefined });
    assert.equal(summary.ran, 4);
    assert.equal(summary.failed.length, 4);
    assert.match(summary.reportError ?? "", /No space left on device/);
    assert.deepEqual(summary.reportFiles, []);
  });
});

Deno.test("a run folder that cannot be written is one error before any job runs", async () => {
  await inTempDir(async (dir) => {
    const file = join(dir, "a-file");
    await Deno.writeTextFile(file, "");
    const counting = countingDeps();
    await assert.rejects(
      () => run(join(file, "runs"), { deps: counting.deps }),
      (e: Error) =>
        e instanceof StoreError && e.message.includes(join(file, "runs")) &&
        /not writable/.test(e.message),
    );
    assert.equal(counting.trained, 0);
  });
});

Deno.test("a job whose epoch log cannot be written and whose training then fails is one failed job, not an uncaught error", async () => {
  await inTempDir(async (out) => {
    const store = new RunStore(out, spec.name);
    const broken: Deps = {
      ...saving,
      train: async (input) => {
        // the job folder turns into a file: every later write fails
        const [job] = (await jobsOf(["a"])).filter((j) =>
          j.seeds.init === input.seeds.init &&
          j.seeds.order === input.seeds.order
        );
        await Deno.remove(store.jobDir(job), { recursive: true });
        await Deno.writeTextFile(store.jobDir(job), "");
        input.onEpoch?.({ epoch: 0, trainLoss: 1, lr: 0.1, seconds: 0 });
        await new Promise((r) => setTimeout(r, 20));
        throw new Error("training failed");
      },
    };
    const summary = await run(out, { deps: broken });
    assert.equal(summary.failed.length, 4);
    assert.match(summary.failed[0].error, /training failed/);
  });
});
