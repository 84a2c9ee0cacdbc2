import { strict as assert } from "node:assert";
import { join } from "node:path";
import { runContext, RunStore, writeFileAtomic } from "./store.ts";
import type { Job } from "./plan.ts";

const fakeJob = {
  id: "0123456789abcdef",
  hash: "0123456789abcdef".padEnd(64, "0"),
} as Job;

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("writeFileAtomic replaces content and leaves no temporary files", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "sub", "a.json");
  await writeFileAtomic(path, "old");
  await writeFileAtomic(path, new TextEncoder().encode("new content"));
  assert.equal(await Deno.readTextFile(path), "new content");
  assert.deepEqual(await listDir(join(dir, "sub")), ["a.json"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic that fails removes its temporary file (a failed report leaves no partial file behind)", async () => {
  const dir = await Deno.makeTempDir();
  // the target is a non-empty folder: the write succeeds, the rename fails
  await Deno.mkdir(join(dir, "table.csv", "x"), { recursive: true });
  await assert.rejects(() => writeFileAtomic(join(dir, "table.csv"), "a,b\n"));
  assert.deepEqual(await listDir(dir), ["table.csv"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic never exposes a torn file to a concurrent reader", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "big.txt");
  const a = "a".repeat(1 << 20), b = "b".repeat(1 << 20);
  await writeFileAtomic(path, a);
  let reads = 0;
  let writing = true;
  const reader = (async () => {
    while (writing) {
      const text = await Deno.readTextFile(path);
      assert.ok(text === a || text === b, `torn read of length ${text.length}`);
      reads++;
    }
  })();
  for (let i = 0; i < 20; i++) await writeFileAtomic(path, i % 2 ? a : b);
  writing = false;
  await reader;
  assert.ok(reads > 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a job is done only when done.json names its hash; start() clears a stale done.json", async () => {
  const root = await Deno.makeTempDir();
  const store = new RunStore(root, "exp");
  assert.equal(await store.isDone(fakeJob), false);
  await store.start(fakeJob, await runContext());
  assert.equal(
    await store.isDone(fakeJob),
    false,
    "job.json alone is not finished",
  );
  const jobJson = JSON.parse(
    await Deno.readTextFile(store.path(fakeJob, "job")),
  );
  assert.equal(jobJson.hash, fakeJob.hash);
  assert.ok("gitCommit" in jobJson.context);
  assert.equal(jobJson.context.versions.deno, Deno.version.deno);
  assert.match(jobJson.context.versions.tfjs, /^\d+\.\d+\.\d+$/);
  await store.finish(fakeJob, {
    predictions: [{
      id: "x",
      subject: "s",
      source: "src",
      split: "test",
      label: 1,
      pred: 0,
    }],
    metrics: {},
    epochs: [{ epoch: 0, trainLoss: 1, lr: 0.1, seconds: 0 }],
    bestEpoch: 0,
    stoppedEarly: false,
    seconds: 1,
  });
  assert.equal(await store.isDone(fakeJob), true);
  assert.equal(
    await store.isDone({ ...fakeJob, hash: "f".repeat(64) }),
    false,
    "a foreign hash is not this job",
  );
  const rec = await store.read(fakeJob);
  assert.equal(rec?.predictions[0].id, "x");
  assert.equal(rec?.epochs.length, 1);
  assert.deepEqual(await listDir(store.jobDir(fakeJob)), [
    "done.json",
    "epochs.jsonl",
    "job.json",
    "metrics.json",
    "predictions.json",
  ]);
  // a corrupt done.json (e.g. a disk error) does not count as finished
  await Deno.writeTextFile(store.path(fakeJob, "done"), "{");
  assert.equal(await store.isDone(fakeJob), false);
  await Deno.writeTextFile(
    join(store.jobDir(fakeJob), "predictions.json.tmp-99-1"),
    "partial",
  );
  await store.start(fakeJob, await runContext());
  assert.equal(
    await Deno.stat(store.path(fakeJob, "done")).then(() => true, () => false),
    false,
  );
  assert.ok(
    !(await listDir(store.jobDir(fakeJob))).some((n) => n.includes(".tmp-")),
    "leftover temp files removed",
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("writeWeights renames the written file into place", async () => {
  const root = await Deno.makeTempDir();
  const store = new RunStore(root, "exp");
  await Deno.mkdir(store.jobDir(fakeJob), { recursive: true });
  await store.writeWeights(
    fakeJob,
    (p) => Deno.writeFile(p, new Uint8Array([1, 2, 3])),
  );
  assert.deepEqual(
    await Deno.readFile(store.path(fakeJob, "weights")),
    new Uint8Array([1, 2, 3]),
  );
  assert.deepEqual(await listDir(store.jobDir(fakeJob)), [
    "weights.safetensors",
  ]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("runContext records what initBackend returned: a BackendInfo as JSON with its versions merged, a bare name as { name }, nothing as null", async () => {
  const info = {
    name: "wasm",
    threads: 1,
    simd: true,
    versions: { "tfjs-backend-wasm": "4.22.0", deno: "0.0.0-not-this" },
    notes: ["BLAS: BatchMatMul use cblas_sgemm of /lib/x.so with 1 thread"],
    blas: {
      path: "/lib/x.so",
      config: "OpenBLAS 0.3.21",
      threads: 1,
      kernels: ["BatchMatMul"],
    },
  };
  const ctx = await runContext(info);
  assert.deepEqual(ctx.backend, info);
  assert.notEqual(ctx.backend, info, "a copy, not the caller's object");
  assert.equal(ctx.versions["tfjs-backend-wasm"], "4.22.0");
  // the context's own versions win over the backend's
  assert.equal(ctx.versions.deno, Deno.version.deno);
  assert.deepEqual((await runContext("cpu")).backend, { name: "cpu" });
  assert.equal((await runContext()).backend, null);
  assert.equal((await runContext({ threads: 1 })).backend, null);
  // and job.json carries it
  const root = await Deno.makeTempDir();
  const store = new RunStore(root, "exp");
  await store.start(fakeJob, ctx);
  const jobJson = JSON.parse(
    await Deno.readTextFile(store.path(fakeJob, "job")),
  );
  assert.deepEqual(jobJson.context.backend, info);
  await Deno.remove(root, { recursive: true });
});
