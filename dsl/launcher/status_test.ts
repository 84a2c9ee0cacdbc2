import { strict as assert } from "node:assert";
import { join } from "node:path";
import type { Job } from "../plan.ts";
import { RunStore, writeJsonAtomic } from "../store.ts";
import {
  newSubmissionDir,
  placements,
  readSubmissions,
  taskLog,
  writeSubmission,
} from "./history.ts";
import type { QueuedTask } from "./slurm_cli.ts";
import { failureLine, formatStatus, studyStatus } from "./status.ts";

function job(n: number): Job {
  const id = String(n).repeat(16);
  return {
    id,
    hash: id.repeat(4),
    variant: `v${n}`,
    seed: 0,
    fold: { name: "split" },
  } as unknown as Job;
}

const SLURM = { cpus: 1, jobsPerTask: 2, maxAttempts: 3 };

async function submit(
  store: RunStore,
  slurmJobId: string,
  tasks: string[][],
): Promise<string> {
  const { number, dir } = await newSubmissionDir(store.dir);
  await writeSubmission(dir, {
    number,
    slurmJobId,
    submittedAt: "2026-01-01T00:00:00Z",
    host: "login",
    cwd: "/p",
    args: ["s.ts"],
    tasks: tasks.map((jobs, i) => ({ index: i + 1, jobs })),
    slurm: SLURM,
  });
  return dir;
}

/** Writes the records of a finished job (the store checks them all). */
async function finished(store: RunStore, j: Job): Promise<void> {
  await writeJsonAtomic(store.path(j, "job"), { id: j.id });
  await Deno.writeTextFile(store.path(j, "epochs"), '{"epoch":1}\n');
  await writeJsonAtomic(store.path(j, "predictions"), [{ id: "c1" }]);
  await writeJsonAtomic(store.path(j, "metrics"), {});
  await writeJsonAtomic(store.path(j, "done"), { hash: j.hash });
}

function queue(entries: [string, string][]): Map<string, QueuedTask> {
  return new Map(entries.map(([key, state]) => {
    const [jobId, index] = key.split("_");
    return [key, { jobId, index: Number(index), state }];
  }));
}

Deno.test("submissions are numbered in order, never share a folder, and count each job's attempts", async () => {
  const root = await Deno.makeTempDir();
  try {
    const store = new RunStore(root, "x");
    const a = await newSubmissionDir(store.dir);
    const b = await newSubmissionDir(store.dir);
    assert.deepEqual([a.number, b.number], [1, 2]);
    assert.match(b.dir, /slurm\/submission-002$/);
    // a folder without submission.json (sbatch refused it) is no submission
    await writeSubmission(b.dir, {
      number: 2,
      slurmJobId: "9",
      submittedAt: "t",
      host: "h",
      cwd: "/",
      args: [],
      tasks: [{ index: 1, jobs: ["j1", "j2"] }],
      slurm: SLURM,
    });
    await submit(store, "12", [["j2"]]);
    const subs = await readSubmissions(store.dir);
    assert.deepEqual(subs.map((s) => s.number), [2, 3]);
    const placed = placements(subs);
    assert.equal(placed.get("j1")?.attempts, 1);
    assert.equal(placed.get("j2")?.attempts, 2);
    assert.equal(placed.get("j2")?.submission.slurmJobId, "12");
    assert.equal((await newSubmissionDir(store.dir)).number, 4);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("status: finished, running in its task, waiting in it, queued, failed with the task's last error line and log, not submitted", async () => {
  const root = await Deno.makeTempDir();
  try {
    const store = new RunStore(root, "x");
    const jobs = [1, 2, 3, 4, 5, 6, 7].map(job);
    const [j1, j2, j3, j4, j5, j6, j7] = jobs;
    // j1 finished
    await finished(store, j1);
    const dir = await submit(store, "40", [
      [j1.id, j2.id, j3.id], // task 1: running
      [j4.id], // task 2: queued
      [j5.id], // task 3: cancelled
      [j7.id], // task 4: running, reported j7 failed
    ]);
    await Deno.writeTextFile(
      taskLog(dir, 3),
      "merba: array task 40_3 (jobs …) on n1\nslurmstepd: error: *** JOB 43 ON n1 CANCELLED AT 2026-01-01T00:01:00 ***\nmerba: array task 40_3 stopped by SIGTERM (scancel, time limit or preemption)\n",
    );
    await Deno.writeTextFile(
      taskLog(dir, 4),
      `failed: v7 seed 0 fold split (${j7.id}):\nError: the loss is NaN\n    at train (train.ts:1:1)\n`,
    );
    await writeJsonAtomic(store.path(j5, "job"), { id: j5.id });
    const status = await studyStatus(store, jobs, {
      queue: queue([["40_1", "RUNNING"], ["40_2", "PENDING"], [
        "40_4",
        "RUNNING",
      ]]),
      ended: () =>
        Promise.resolve(
          new Map([[3, { state: "CANCELLED", exitCode: "0:15" }]]),
        ),
    });
    const by = new Map(status.jobs.map((s) => [s.job.id, s]));
    assert.equal(by.get(j1.id)?.state, "finished");
    assert.equal(by.get(j2.id)?.state, "running");
    assert.equal(by.get(j2.id)?.detail, "slurm 40_1 (running)");
    assert.equal(by.get(j3.id)?.state, "pending");
    assert.equal(
      by.get(j3.id)?.detail,
      "waiting in slurm 40_1 (running its other jobs)",
    );
    assert.equal(by.get(j4.id)?.detail, "queued as slurm 40_2 (pending)");
    assert.equal(by.get(j5.id)?.state, "failed");
    assert.equal(
      by.get(j5.id)?.detail,
      "slurm 40_3 cancelled (exit 0:15) without finishing it: slurmstepd: error: *** JOB 43 ON n1 CANCELLED AT 2026-01-01T00:01:00 ***",
    );
    assert.equal(by.get(j5.id)?.log, join(dir, "task-3.log"));
    assert.equal(by.get(j6.id)?.detail, "not submitted");
    assert.equal(by.get(j7.id)?.state, "failed");
    assert.equal(by.get(j7.id)?.detail, "slurm 40_4: Error: the loss is NaN");
    assert.deepEqual(status.counts, {
      finished: 1,
      running: 1,
      failed: 2,
      pending: 3,
    });
    assert.deepEqual(status.active.sort(), ["40_1", "40_2", "40_4"]);
    const text = formatStatus("x", store.dir, status);
    assert.match(text, new RegExp(`^      log: ${dir}/task-3\\.log$`, "m"));
    assert.equal(
      text.split("\n").at(-1),
      "x: 1 finished, 1 running, 2 failed, 3 pending of 7 jobs; slurm: 3 array tasks queued or running",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("status: a live claim is running; without squeue a task log decides, and a task that ended before a job says so", async () => {
  const root = await Deno.makeTempDir();
  try {
    const store = new RunStore(root, "x");
    const jobs = [1, 2, 3].map(job);
    const [j1, j2, j3] = jobs;
    await Deno.mkdir(store.jobDir(j1), { recursive: true });
    await writeJsonAtomic(join(store.jobDir(j1), "claim.json"), {
      pid: Deno.pid,
      host: Deno.hostname(),
      token: "t",
      startedAt: "2026-01-01T00:00:00Z",
      heartbeatAt: new Date().toISOString(),
    });
    const dir = await submit(store, "7", [[j1.id], [j2.id], [j3.id]]);
    await Deno.writeTextFile(
      taskLog(dir, 2),
      "merba: array task 7_2 (jobs …) on n1\n",
    );
    await Deno.writeTextFile(
      taskLog(dir, 3),
      "merba: array task 7_3 (jobs …) on n1\nmerba: array task 7_3 exited with status 1\n",
    );
    const unknown = await studyStatus(store, jobs, {
      queue: null,
      ended: () => Promise.resolve(new Map()),
    });
    assert.deepEqual(unknown.jobs.map((s) => s.state), [
      "running",
      "running",
      "failed",
    ]);
    assert.match(
      unknown.jobs[0].detail,
      new RegExp(`^slurm 7_1, pid ${Deno.pid} on `),
    );
    assert.equal(
      unknown.jobs[1].detail,
      "slurm 7_2 (squeue not available: its log has not ended)",
    );
    assert.equal(
      unknown.jobs[2].detail,
      "slurm 7_3 ended before starting it: merba: array task 7_3 exited with status 1",
    );
    assert.equal(unknown.queueKnown, false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the failure line is the job's own error, else Slurm's *** line, else an error, else the last line", () => {
  assert.equal(
    failureLine(
      "a\nfailed: v seed 0 fold f (abc):\nError: boom\n  at x\n",
      "abc",
    ),
    "Error: boom",
  );
  assert.equal(
    failureLine(
      "x\nerror: bad\nslurmstepd: error: *** JOB 3 ON n DUE TO TIME LIMIT ***\nmerba: stopped by SIGTERM\n",
    ),
    "slurmstepd: error: *** JOB 3 ON n DUE TO TIME LIMIT ***",
  );
  assert.equal(
    failureLine("start\nerror: cannot load\nend\n"),
    "error: cannot load",
  );
  assert.equal(failureLine("one\ntwo\n"), "two");
  assert.equal(failureLine("\n\n"), null);
});
