import { strict as assert } from "node:assert";
import { join } from "node:path";
import { createHash } from "node:crypto";
import {
  CLAIM_STALE_MS,
  claimIsLive,
  type ClaimRecord,
  type DoneRecord,
  type JobOutcome,
  kernelSetOf,
  readClaim,
  runContext,
  RunStore,
  writeFileAtomic,
} from "./store.ts";
import { StoreError } from "./errors.ts";
import { inTempDir } from "../train/testing.ts";
import { kernelSetLabel } from "../model/backend/runtime.ts";
import type { Job } from "./plan.ts";

const fakeJob = {
  id: "0123456789abcdef",
  hash: "0123456789abcdef".padEnd(64, "0"),
} as Job;

/** A job outcome with one prediction and one epoch. */
const ONE_PREDICTION: JobOutcome = {
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
};

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
  await store.finish(fakeJob, ONE_PREDICTION);
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

const claimJob = { id: "claimed00000000a", hash: "c".repeat(64) } as Job;

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

function claimText(c: Partial<ClaimRecord>): string {
  const now = new Date().toISOString();
  return JSON.stringify({
    pid: 1,
    host: Deno.hostname(),
    token: "t-old",
    startedAt: now,
    heartbeatAt: now,
    ...c,
  });
}

Deno.test("a job is claimed by one process at a time: a live claim is refused, a released one can be taken", async () => {
  await inTempDir(async (root) => {
    const store = new RunStore(root, "exp");
    const mine = await store.claim(claimJob);
    assert.ok(mine);
    const onDisk = await readClaim(store.jobDir(claimJob));
    assert.equal(onDisk?.pid, Deno.pid);
    assert.equal(onDisk?.host, Deno.hostname());
    assert.equal(onDisk?.token, mine.record.token);
    assert.ok(claimIsLive(onDisk!));
    assert.equal(await store.claim(claimJob), null, "already claimed");
    // a live process on this host (pid 1) holds it: refused too
    await mine.release();
    assert.equal(await readClaim(store.jobDir(claimJob)), null);
    await Deno.writeTextFile(store.path(claimJob, "claim"), claimText({}));
    assert.equal(await store.claim(claimJob), null);
    await Deno.remove(store.path(claimJob, "claim"));
    const again = await store.claim(claimJob);
    assert.ok(again);
    await again.release();
    assert.deepEqual(await listDir(store.jobDir(claimJob)), []);
  });
});

Deno.test("claimIsLive: this host by its pid, another host by a heartbeat younger than CLAIM_STALE_MS", async () => {
  const now = new Date();
  const old = new Date(now.getTime() - CLAIM_STALE_MS - 1000).toISOString();
  const fresh = new Date(now.getTime() - 1000).toISOString();
  const c = (x: Partial<ClaimRecord>) =>
    JSON.parse(claimText(x)) as ClaimRecord;
  assert.equal(claimIsLive(c({ pid: Deno.pid, heartbeatAt: old }), now), true);
  assert.equal(claimIsLive(c({ pid: await deadPid() }), now), false);
  assert.equal(
    claimIsLive(c({ host: "elsewhere.invalid", heartbeatAt: fresh }), now),
    true,
  );
  assert.equal(
    claimIsLive(c({ host: "elsewhere.invalid", heartbeatAt: old }), now),
    false,
  );
});

Deno.test("a stale claim (a dead pid here, an old heartbeat elsewhere, an unreadable file) is taken over; a fresh one from another host is not", async () => {
  await inTempDir(async (root) => {
    const store = new RunStore(root, "exp");
    await Deno.mkdir(store.jobDir(claimJob), { recursive: true });
    const path = store.path(claimJob, "claim");
    const old = new Date(Date.now() - CLAIM_STALE_MS - 1000);
    const stale = [
      claimText({ pid: await deadPid() }),
      claimText({ host: "elsewhere.invalid", heartbeatAt: old.toISOString() }),
      "{", // unreadable: stale once its mtime is old
    ];
    for (const text of stale) {
      await Deno.writeTextFile(path, text);
      await Deno.utime(path, old, old);
      const claim = await store.claim(claimJob);
      assert.ok(claim, text);
      assert.equal((await readClaim(store.jobDir(claimJob)))?.pid, Deno.pid);
      await claim.release();
    }
    await Deno.writeTextFile(
      path,
      claimText({ host: "elsewhere.invalid", pid: 7 }),
    );
    assert.equal(await store.claim(claimJob), null);
    assert.equal((await readClaim(store.jobDir(claimJob)))?.pid, 7);
    assert.deepEqual(await listDir(store.jobDir(claimJob)), ["claim.json"]);
  });
});

Deno.test("claimers racing for one stale claim end with exactly one owner", async () => {
  await inTempDir(async (root) => {
    for (let round = 0; round < 5; round++) {
      const dir = join(root, String(round));
      const stores = Array.from({ length: 8 }, () => new RunStore(dir, "exp"));
      await Deno.mkdir(stores[0].jobDir(claimJob), { recursive: true });
      await Deno.writeTextFile(
        stores[0].path(claimJob, "claim"),
        claimText({ pid: await deadPid() }),
      );
      const claims = await Promise.all(stores.map((s) => s.claim(claimJob)));
      const owners = claims.filter((c) => c !== null);
      assert.equal(owners.length, 1, `round ${round}`);
      assert.equal(
        (await readClaim(stores[0].jobDir(claimJob)))?.token,
        owners[0]!.record.token,
      );
      assert.deepEqual(await listDir(stores[0].jobDir(claimJob)), [
        "claim.json",
      ]);
      await owners[0]!.release();
    }
  });
});

Deno.test("the heartbeat refreshes this process's claim and notices when another process took it over", async () => {
  await inTempDir(async (root) => {
    const store = new RunStore(root, "exp");
    const claim = (await store.claim(claimJob))!;
    const before = (await readClaim(store.jobDir(claimJob)))!.heartbeatAt;
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(await claim.heartbeat(), true);
    const after = (await readClaim(store.jobDir(claimJob)))!.heartbeatAt;
    assert.ok(after > before, `${after} > ${before}`);
    const path = store.path(claimJob, "claim");
    await Deno.writeTextFile(path, claimText({ token: "someone-else" }));
    assert.equal(await claim.heartbeat(), false);
    assert.equal(claim.lost, true);
    await claim.release();
    assert.equal(
      (await readClaim(store.jobDir(claimJob)))?.token,
      "someone-else",
      "release leaves another process's claim alone",
    );
  });
});

Deno.test("start() removes this process's and dead processes' temporary files, never a live writer's", async () => {
  await inTempDir(async (root) => {
    const store = new RunStore(root, "exp");
    const dir = store.jobDir(fakeJob);
    await Deno.mkdir(dir, { recursive: true });
    const host = Deno.hostname();
    const dead = await deadPid();
    const names = {
      mine: `epochs.jsonl.tmp-${host}-${Deno.pid}-3`,
      dead: `epochs.jsonl.tmp-${host}-${dead}-10`,
      deadOld: `predictions.json.tmp-${dead}-2`,
      live: `epochs.jsonl.tmp-${host}-1-10`,
      otherHost: `metrics.json.tmp-elsewhere.invalid-${Deno.pid}-4`,
    };
    for (const n of Object.values(names)) {
      await Deno.writeTextFile(join(dir, n), "partial");
    }
    await store.start(fakeJob, await runContext());
    assert.deepEqual(
      await listDir(dir),
      ["job.json", names.live, names.otherHost].sort(),
    );
  });
});

Deno.test("done.json records the kernel set and every file's size and SHA-256; check() names a missing, truncated or changed file", async () => {
  await inTempDir(async (root) => {
    const store = new RunStore(root, "exp");
    const finishJob = async () => {
      await store.start(
        fakeJob,
        await runContext({ name: "wasm", blas: { path: "/x.so" } }),
      );
      await store.writeWeights(
        fakeJob,
        (p) => Deno.writeFile(p, new Uint8Array([1, 2, 3, 4])),
      );
      await store.finish(fakeJob, {
        ...ONE_PREDICTION,
        metrics: { test: {} as never },
      });
    };
    await finishJob();
    const done = JSON.parse(
      await Deno.readTextFile(store.path(fakeJob, "done")),
    ) as DoneRecord;
    assert.equal(done.kernelSet, "wasm+openblas");
    assert.deepEqual(Object.keys(done.files!).sort(), [
      "epochs.jsonl",
      "job.json",
      "metrics.json",
      "predictions.json",
      "weights.safetensors",
    ]);
    assert.deepEqual(done.files!["weights.safetensors"], {
      size: 4,
      sha256: createHash("sha256").update(new Uint8Array([1, 2, 3, 4]))
        .digest("hex"),
    });
    assert.deepEqual(await store.check(fakeJob), {
      state: "done",
      done,
      kernelSet: "wasm+openblas",
    });
    const weights = store.path(fakeJob, "weights");
    await Deno.writeFile(weights, new Uint8Array([1, 2, 3, 5]));
    const changed = await store.check(fakeJob);
    assert.equal(changed.state, "damaged");
    assert.match(
      (changed as { problem: string }).problem,
      /weights\.safetensors: content changed/,
    );
    await Deno.truncate(weights, 2);
    assert.match(
      (await store.check(fakeJob) as { problem: string }).problem,
      /weights\.safetensors: 2 bytes, done\.json records 4/,
    );
    await Deno.remove(weights);
    assert.match(
      (await store.check(fakeJob) as { problem: string }).problem,
      /weights\.safetensors: missing \(done\.json records 4 bytes\)/,
    );
    assert.equal(await store.isDone(fakeJob), false);
    await assert.rejects(
      () => store.read(fakeJob),
      (e: Error) => e instanceof StoreError && e.message.includes(weights),
    );
    // a job taken over by another process is not recorded as finished
    await Deno.writeTextFile(
      store.path(fakeJob, "claim"),
      claimText({ host: "elsewhere.invalid", pid: 7 }),
    );
    await assert.rejects(
      finishJob,
      (e: Error) =>
        e instanceof StoreError && /taken over by elsewhere\.invalid pid 7/
          .test(e.message),
    );
    assert.equal((await store.check(fakeJob)).state, "todo");
  });
});

Deno.test("records written before checksums: the kernel set comes from job.json's backend, an empty or unreadable file is damage", async () => {
  await inTempDir(async (root) => {
    const store = new RunStore(root, "exp");
    const dir = store.jobDir(fakeJob);
    await Deno.mkdir(dir, { recursive: true });
    const ctx = { backend: { name: "cpu", blas: { path: "/x.so" } } };
    await Deno.writeTextFile(
      store.path(fakeJob, "job"),
      JSON.stringify({ context: ctx }),
    );
    await Deno.writeTextFile(store.path(fakeJob, "predictions"), '[{"id":1}]');
    await Deno.writeTextFile(store.path(fakeJob, "metrics"), "{}");
    await Deno.writeTextFile(store.path(fakeJob, "epochs"), '{"epoch":0}\n');
    await Deno.writeTextFile(
      store.path(fakeJob, "done"),
      JSON.stringify({ hash: fakeJob.hash }),
    );
    const state = await store.check(fakeJob);
    assert.equal(state.state, "done");
    assert.equal((state as { kernelSet: string }).kernelSet, "cpu+openblas");
    assert.equal((await store.read(fakeJob))?.done.kernelSet, "cpu+openblas");
    await Deno.writeTextFile(store.path(fakeJob, "predictions"), "[]");
    assert.match(
      (await store.check(fakeJob) as { problem: string }).problem,
      /predictions\.json: expected a non-empty list/,
    );
    await Deno.remove(store.path(fakeJob, "predictions"));
    assert.match(
      (await store.check(fakeJob) as { problem: string }).problem,
      /predictions\.json: missing$/,
    );
  });
});

Deno.test("kernelSetOf and kernelSetLabel name a backend's kernels, with +openblas when BLAS served it", () => {
  assert.equal(kernelSetLabel({ name: "wasm", blas: null }), "wasm");
  assert.equal(kernelSetLabel({ name: "wasm", blas: {} }), "wasm+openblas");
  assert.equal(kernelSetLabel({ name: "cpu", blas: {} }), "cpu+openblas");
  assert.equal(kernelSetLabel({ name: "webgpu", blas: null }), "webgpu");
  assert.equal(
    kernelSetLabel({
      name: "tensorflow",
      versions: { "@tensorflow/tfjs-node": "4.22.0" },
    }),
    "tensorflow",
  );
  assert.equal(
    kernelSetLabel({
      name: "tensorflow",
      versions: { "@tensorflow/tfjs-node-gpu": "4.22.0" },
    }),
    "tensorflow-gpu",
  );
  assert.equal(kernelSetOf({ kernelSet: "wasm" }), "wasm");
  assert.equal(kernelSetOf({ backend: { name: "cpu" } }), "cpu");
  assert.equal(kernelSetOf({ backend: null }), "unknown");
  assert.equal(kernelSetOf(undefined), "unknown");
});

Deno.test("checkWritable says once that a run folder cannot be written", async () => {
  await inTempDir(async (dir) => {
    await new RunStore(join(dir, "ok"), "exp").checkWritable();
    assert.deepEqual(await listDir(dir), [], "nothing left behind");
    await Deno.mkdir(join(dir, "ok", "exp", "job"), { recursive: true });
    await new RunStore(join(dir, "ok"), "exp").checkWritable();
    assert.deepEqual(await listDir(join(dir, "ok", "exp")), ["job"]);
    await Deno.writeTextFile(join(dir, "file"), "");
    const bad = new RunStore(join(dir, "file"), "exp");
    await assert.rejects(
      () => bad.checkWritable(),
      (e: Error) =>
        e instanceof StoreError &&
        e.message.startsWith(`run folder ${bad.dir} is not writable`),
    );
  });
});
