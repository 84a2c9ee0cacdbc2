import { strict as assert } from "node:assert";
import type { ProgressView } from "./progress.ts";
import { RunStore } from "./store.ts";
import { tinyLosoJobs, tinyLosoSpec } from "./testdata/loso_spec.ts";
import { runInWorkers } from "./workers.ts";

const spec = tinyLosoSpec({ name: "tiny-pool", lr: 0.1, seeds: [1] });
const jobs = () => tinyLosoJobs(spec);

Deno.test("job workers keep their message handler when their dependencies import data/pipeline.ts", async () => {
  const out = await Deno.makeTempDir();
  const plan = await jobs();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error("the pool did not finish in 60 s")),
      60_000,
    );
  });
  try {
    const res = await Promise.race([
      runInWorkers(plan, {
        spec,
        outDir: out,
        workers: 2,
        depsModule: new URL("./testdata/pipeline_deps.ts", import.meta.url)
          .href,
      }),
      timeout,
    ]);
    assert.deepEqual(res.failed, []);
    assert.equal(res.finished, plan.length);
    const store = new RunStore(out, spec.name);
    for (const j of plan) assert.ok(await store.isDone(j));
  } finally {
    clearTimeout(timer);
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("aborting the pool terminates the workers; unfinished jobs have no done.json", async () => {
  const out = await Deno.makeTempDir();
  const plan = await jobs();
  const controller = new AbortController();
  let ended = 0;
  const progress = {
    startJob() {},
    step() {},
    epoch() {},
    endJob(_job: unknown, ok: boolean) {
      if (ok && ++ended === 1) controller.abort();
    },
    stop() {},
  } as unknown as ProgressView;
  const res = await runInWorkers(plan, {
    spec,
    outDir: out,
    workers: 1,
    depsModule: new URL("./testdata/stand_in_deps.ts", import.meta.url).href,
    signal: controller.signal,
    progress,
  });
  assert.equal(res.finished, 1);
  const store = new RunStore(out, spec.name);
  const done = await Promise.all(plan.map((j) => store.isDone(j)));
  assert.deepEqual(done, [true, false, false, false]);
  await Deno.remove(out, { recursive: true });
});

Deno.test("aborting the pool lets each worker end its current step before it is terminated (no computation is cut off)", async () => {
  const out = await Deno.makeTempDir();
  const log = await Deno.makeTempFile();
  Deno.env.set("MERBA_TEST_STEP_LOG", log);
  const controller = new AbortController();
  try {
    const plan = (await jobs()).slice(0, 2);
    const pool = runInWorkers(plan, {
      spec,
      outDir: out,
      workers: 2,
      depsModule: new URL("./testdata/slow_step_deps.ts", import.meta.url)
        .href,
      signal: controller.signal,
    });
    // abort in the middle of a step: after some step has started and
    // before it can end
    for (;;) {
      const text = await Deno.readTextFile(log);
      const starts = text.split("\n").filter((l) => l.startsWith("start"));
      if (starts.length >= 3) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    controller.abort();
    const res = await pool;
    assert.equal(res.finished, 0);
    assert.deepEqual(res.failed, []);
    // the workers' last writes land before the pool resolves
    const lines = (await Deno.readTextFile(log)).trim().split("\n");
    const started = lines.filter((l) => l.startsWith("start")).length;
    const ended = lines.filter((l) => l.startsWith("end")).length;
    assert.equal(ended, started, lines.join("\n"));
    const store = new RunStore(out, spec.name);
    for (const j of plan) assert.equal(await store.isDone(j), false);
  } finally {
    Deno.env.delete("MERBA_TEST_STEP_LOG");
    await Deno.remove(out, { recursive: true });
    await Deno.remove(log);
  }
});
