/**
 * End to end against a real Slurm (the one-node cluster that
 * `scripts/slurm/local_cluster.sh start` sets up; `.ci/run` starts it
 * before the tests): the README's "Running on a cluster" commands, word for
 * word, run in a fresh directory that looks like a clone (the checkout's
 * entries linked in, its own `runs/`). Skipped, with a message, where no
 * Slurm node is up, or where the Slurm is another cluster's than the test
 * one (unless `MERBA_SLURM_TEST=1`).
 *
 * - a `--wait` submission of `experiments/table7.ts --preset smoke` gives
 *   the report of a local run of the same spec, byte for byte;
 * - killing one array task in the middle of a job shows in `status` (failed,
 *   with Slurm's cancel line and the task's log), `report` writes the half
 *   finished study, and running the same command again completes it, with
 *   the local run's report;
 * - a job that fails every time (the stand-in dependencies of
 *   `dsl/testdata/oom_deps.ts`, carried to the tasks by `MERBA_DEPS` through
 *   the script's own environment) is retried until `--slurm.max-attempts`,
 *   then named and never submitted again.
 */
import { strict as assert } from "node:assert";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { reportFiles } from "../scripts/testing.ts";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** The four commands of the README's "Running on a cluster" section. */
interface ClusterCommands {
  submit: string;
  status: string;
  report: string;
  resume: string;
}

/** Reads the commands from the README (fails when the section changed shape). */
function readmeCommands(): ClusterCommands {
  const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
  const section = readme.split("\n## Running on a cluster\n")[1]?.split(
    "\n## ",
  )[0];
  assert.ok(section, 'README.md has a "## Running on a cluster" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, "the section starts with a sh block");
  const lines = block.split("\n").filter((l) => l.startsWith("deno task "));
  assert.equal(lines.length, 4, `four commands in the block:\n${block}`);
  const [submit, status, report, resume] = lines;
  assert.match(submit, /^deno task run .*--launcher slurm/);
  assert.doesNotMatch(submit, /--wait/);
  assert.match(status, /^deno task status /);
  assert.match(report, /^deno task report /);
  assert.equal(
    resume,
    `${submit} --wait`,
    "resume is the submit command with --wait",
  );
  return { submit, status, report, resume };
}

/** The local run the cluster's reports are compared with. */
const LOCAL = "deno task run experiments/table7.ts --preset smoke";

async function sh(
  command: string,
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string; text: string }> {
  // this process's environment without MERBA_* (other test files of the
  // same `deno test` set MERBA_DEPS to stand-ins): commands set their own
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) =>
      !k.startsWith("MERBA_")
    ),
  );
  const out = await new Deno.Command("bash", {
    args: ["-c", command],
    cwd,
    clearEnv: true,
    env: {
      ...env,
      PATH: `${dirname(Deno.execPath())}:${env.PATH ?? ""}`,
      NO_COLOR: "1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout), stderr = dec.decode(out.stderr);
  return { code: out.code, stdout, stderr, text: stdout + stderr };
}

async function mustRun(command: string, cwd: string): Promise<string> {
  const r = await sh(command, cwd);
  assert.equal(r.code, 0, `${command} (in ${cwd}) failed:\n${r.text}`);
  return r.text;
}

/** Whether a Slurm node is up here (and why not). */
async function slurmUp(): Promise<{ up: boolean; why: string }> {
  try {
    const r = await sh("sinfo -h -N -o %T", ROOT);
    const state = r.stdout.trim().split("\n")[0] ?? "";
    if (r.code === 0 && /^(idle|mixed|allocated|completing)/.test(state)) {
      // a real cluster's Slurm only when asked for
      const conf = await sh("scontrol show config", ROOT);
      const name = /^ClusterName\s*=\s*(\S+)/m.exec(conf.stdout)?.[1];
      if (name === "merba-local" || Deno.env.get("MERBA_SLURM_TEST") === "1") {
        return { up: true, why: "" };
      }
      return {
        up: false,
        why:
          `the Slurm here is cluster "${name}", not the test cluster of scripts/slurm/local_cluster.sh; MERBA_SLURM_TEST=1 runs these tests on it`,
      };
    }
    return {
      up: false,
      why: r.code === 0
        ? `node state "${state}"`
        : r.text.trim().split("\n")[0],
    };
  } catch (e) {
    return { up: false, why: (e as Error).message };
  }
}

/**
 * A fresh directory that looks like the checkout: its entries linked in
 * (the flow cache shared), with its own `runs/`.
 */
async function cloneLike(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  await Deno.mkdir(join(ROOT, ".cache"), { recursive: true });
  for (const e of Deno.readDirSync(ROOT)) {
    if (e.name === "runs" || e.name === "out") continue;
    await Deno.symlink(join(ROOT, e.name), join(dir, e.name));
  }
  return dir;
}

async function assertSameReport(dir: string, reference: string): Promise<void> {
  const a = await reportFiles(join(reference, "runs/table7/report"));
  const b = await reportFiles(join(dir, "runs/table7/report"));
  assert.ok([...a.keys()].some((k) => k.endsWith(".md")), "a markdown table");
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [file, bytes] of a) {
    assert.deepEqual(
      b.get(file),
      bytes,
      `${file} differs from the local run's`,
    );
  }
}

let local: Promise<string> | undefined;
/** The local run's folder (run once, shared by the tests). */
function localRun(): Promise<string> {
  local ??= (async () => {
    const dir = await cloneLike("merba_slurm_local_");
    cleanup.push(dir);
    await mustRun(LOCAL, dir);
    return dir;
  })();
  return local;
}

/** Array tasks of Slurm job `id` still in the queue, `index → state`. */
async function queued(id: string): Promise<Map<string, string>> {
  const r = await sh(`squeue -h -r -j ${id} -o '%K %T'`, ROOT);
  const out = new Map<string, string>();
  if (r.code !== 0) return out; // Slurm forgot the job: nothing queued
  for (const line of r.stdout.trim().split("\n").filter((l) => l)) {
    const [index, state] = line.trim().split(/\s+/);
    out.set(index, state);
  }
  return out;
}

async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  limitS = 600,
): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > limitS * 1000) {
      throw new Error(`gave up waiting for ${what} after ${limitS}s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

const cluster = await slurmUp();
if (!cluster.up) {
  console.log(
    `test/slurm_test.ts: skipped: no Slurm node is up here (${cluster.why}); as root, scripts/slurm/local_cluster.sh start sets one up`,
  );
}

const cleanup: string[] = [];
const submitted: string[] = [];
addEventListener("unload", () => {
  for (const id of submitted) {
    new Deno.Command("scancel", { args: [id] }).outputSync();
  }
  for (const dir of cleanup) Deno.removeSync(dir, { recursive: true });
});

Deno.test({
  name:
    "a --wait submission to a real Slurm writes the report of a local run, byte for byte",
  ignore: !cluster.up,
  fn: async () => {
    const { resume } = readmeCommands();
    const reference = await localRun();
    const dir = await cloneLike("merba_slurm_wait_");
    cleanup.push(dir);
    const text = await mustRun(resume, dir);
    const id = /as Slurm job (\d+)/.exec(text)?.[1];
    assert.ok(id, `the submission names its Slurm job:\n${text}`);
    assert.match(text, /6 finished, 0 running, 0 failed, 0 pending of 6 jobs/);
    // the array script stands alone: absolute paths, offline Deno, no exported env
    const script = await Deno.readTextFile(
      join(dir, "runs/table7/slurm/submission-001/array.sbatch"),
    );
    assert.match(script, /^#SBATCH --export=NONE$/m);
    assert.match(script, /^#SBATCH --array=1-2%2$/m);
    assert.match(script, / run -A --cached-only --config \/\S+\/deno\.json /);
    assert.match(script, /^export DENO_DIR=\//m);
    await assertSameReport(dir, reference);
  },
});

Deno.test({
  name:
    "a killed array task shows in status and report, and the same command again completes the study",
  ignore: !cluster.up,
  fn: async () => {
    const cmd = readmeCommands();
    const dir = await cloneLike("merba_slurm_kill_");
    cleanup.push(dir);
    const text = await mustRun(cmd.submit, dir);
    const id = /as Slurm job (\d+)/.exec(text)?.[1];
    assert.ok(id, `the submission names its Slurm job:\n${text}`);
    submitted.push(id);
    const sub = JSON.parse(
      await Deno.readTextFile(
        join(dir, "runs/table7/slurm/submission-001/submission.json"),
      ),
    ) as { tasks: { index: number; jobs: string[] }[] };
    assert.equal(sub.tasks.length, 2, "6 jobs in 2 array tasks of 3");
    // kill task 1 while one of its jobs is training
    const jobDir = (job: string) => join(dir, "runs/table7", job);
    const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
    await waitUntil("task 1 to start a job", async () => {
      if ((await queued(id)).get("1") !== "RUNNING") return false;
      for (const job of sub.tasks[0].jobs) {
        if (
          await exists(join(jobDir(job), "job.json")) &&
          !(await exists(join(jobDir(job), "done.json")))
        ) return true;
      }
      return false;
    });
    await mustRun(`scancel ${id}_1`, dir);
    await waitUntil(
      `Slurm job ${id} to end`,
      async () => (await queued(id)).size === 0,
    );

    const status = await mustRun(cmd.status, dir);
    const summary =
      /table7: (\d+) finished, 0 running, (\d+) failed, 0 pending of 6 jobs/
        .exec(status);
    assert.ok(summary, `status ends with the summary:\n${status}`);
    assert.ok(
      Number(summary[2]) >= 1,
      `the killed task's jobs are failed:\n${status}`,
    );
    assert.match(
      status,
      /failed +slurm \d+_1 cancelled .*\*\*\* JOB \d+ ON \S+ CANCELLED AT/,
    );
    assert.match(
      status,
      /log: \/\S+\/runs\/table7\/slurm\/submission-001\/task-1\.log/,
    );
    for (const job of sub.tasks[1].jobs) {
      assert.match(
        status,
        new RegExp(`${job} .* finished`),
        "task 2 was not touched",
      );
    }

    const report = await mustRun(cmd.report, dir);
    assert.match(
      report,
      new RegExp(
        `report from ${summary[1]} of 6 finished jobs \\(${
          summary[2]
        } missing\\)`,
      ),
    );
    const md = await Deno.readTextFile(
      join(dir, "runs/table7/report/table7.md"),
    );
    assert.match(md, new RegExp(`${summary[2]} of 6 jobs missing`));

    const resumed = await mustRun(cmd.resume, dir);
    assert.match(resumed, new RegExp(`submitted ${summary[2]} of 6 jobs`));
    assert.match(
      resumed,
      /6 finished, 0 running, 0 failed, 0 pending of 6 jobs/,
    );
    await assertSameReport(dir, await localRun());
  },
});

Deno.test({
  name:
    "a job that keeps failing on Slurm is retried up to --slurm.max-attempts, then named and not submitted again",
  ignore: !cluster.up,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "merba_slurm_retry_" });
    cleanup.push(out);
    const deps = new URL("../dsl/testdata/oom_deps.ts", import.meta.url).href;
    const cmd =
      `MERBA_DEPS=${deps} deno task run test/testdata/slurm_retry.yaml --launcher slurm --slurm.max-attempts 2 --slurm.array-parallel 2 --wait --out ${out}`;
    const first = await sh(cmd, ROOT);
    assert.equal(first.code, 1, first.text);
    assert.match(
      first.text,
      /submitted 4 of 4 jobs as Slurm job \d+: 4 array tasks/,
    );
    assert.match(
      first.text,
      /submitted 1 of 4 jobs \(1 retried after an unfinished attempt; at most 2 attempts each\)/,
    );
    const failed =
      /not resubmitted: ([0-9a-f]{16}) \(big-batch, seed 1, fold split\) failed 2 times \(--slurm\.max-attempts 2\); last: slurm \d+_1: job \1 .*ran out of cpu backend memory .*; log \/\S+\/submission-002\/task-1\.log/
        .exec(first.text);
    assert.ok(failed, first.text);
    assert.match(
      first.text,
      /3 finished, 0 running, 1 failed, 0 pending of 4 jobs/,
    );
    const again = await sh(cmd, ROOT);
    assert.equal(again.code, 1, again.text);
    assert.doesNotMatch(again.text, /as Slurm job/);
    assert.match(again.text, new RegExp(`not resubmitted: ${failed[1]} `));
    const subs = [...Deno.readDirSync(join(out, "slurm-retry/slurm"))];
    assert.equal(subs.length, 2, "two submissions, no third");
  },
});
