import { strict as assert } from "node:assert";
import { main as run } from "./run.ts";
import { main as report } from "./report.ts";
import { main as status } from "./status.ts";
import { captureMain } from "./testing.ts";

const SPEC =
  new URL("../dsl/testdata/example_spec.ts", import.meta.url).pathname;

const capture = captureMain;

Deno.env.set(
  "MERBA_DEPS",
  new URL("../dsl/testdata/stand_in_deps.ts", import.meta.url).href,
);

Deno.test("status and report CLIs on a half-finished study: per-job states, a summary, a partial report", async () => {
  const out = await Deno.makeTempDir();
  try {
    const flags = [SPEC, "--preset", "smoke", "--backend", "cpu", "--out", out];
    const none = await capture(report, flags);
    assert.equal(none.code, 1);
    assert.match(
      none.err,
      /^error: example-scans: no job of 3 has finished yet \(.*\): no report$/,
    );
    const first = await capture(run, [
      ...flags,
      "--shard",
      "1/2",
      "--jobs",
      "1",
    ]);
    assert.equal(first.code, 0, first.err);
    // the run's own launcher flags are accepted (and ignored) by status
    const st = await capture(status, [
      ...flags,
      "--launcher",
      "slurm",
      "--slurm.time",
      "10",
    ]);
    assert.equal(st.code, 0, st.err);
    const lines = st.out.split("\n");
    assert.equal(lines.filter((l) => / finished$/.test(l)).length, 2);
    assert.equal(
      lines.filter((l) => / pending +not submitted$/.test(l)).length,
      1,
    );
    assert.equal(
      lines.at(-1),
      "example-scans: 2 finished, 0 running, 0 failed, 1 pending of 3 jobs",
    );
    const partial = await capture(report, flags);
    assert.equal(partial.code, 0, partial.err);
    assert.match(
      partial.out,
      /^example-scans: report from 2 of 3 finished jobs \(1 missing\)$/m,
    );
    const file = /^report: (.*example-scans\/report\/report\.json)$/m.exec(
      partial.out,
    )?.[1];
    assert.ok(file, partial.out);
    const written = JSON.parse(await Deno.readTextFile(file));
    assert.match(
      written.description,
      /1 of 3 jobs missing \(partial results\)/,
    );
    const bad = await capture(status, [...flags, "--dry-run"]);
    assert.equal(bad.code, 2);
    assert.equal(bad.err, "error: --dry-run: a run flag, not used here");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("run CLI: --wait needs --launcher slurm, and a Slurm run splits the plan itself", async () => {
  const wait = await capture(run, [SPEC, "--wait"]);
  assert.equal(wait.code, 2);
  assert.equal(wait.err, "error: --wait: only with --launcher slurm");
  const shard = await capture(run, [
    SPEC,
    "--launcher",
    "slurm",
    "--shard",
    "1/2",
  ]);
  assert.equal(shard.code, 2);
  assert.equal(
    shard.err,
    "error: --shard: not with --launcher slurm (the array splits the plan itself)",
  );
  const help = await capture(run, ["--help"]);
  assert.match(help.out, /--launcher L +local \(default\) \| slurm/);
});
