/**
 * End-to-end tests of the `run` CLI: its `main` in-process and as a
 * subprocess, on the stand-in engine and on the real one (dry runs, resume,
 * SIGINT, damaged and shared stores, full disks, progress and result lines).
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { main } from "../scripts/run.ts";
import { captureMain } from "../scripts/testing.ts";

const SPEC =
  new URL("../dsl/testdata/example_spec.ts", import.meta.url).pathname;
const YAML_BAD =
  new URL("../dsl/testdata/yaml/bad_window.yaml", import.meta.url).pathname;

const capture = (args: string[]) => captureMain(main, args);

Deno.env.set(
  "MERBA_DEPS",
  new URL("../dsl/testdata/stand_in_deps.ts", import.meta.url).href,
);

Deno.test("run CLI: --help, bad flags and bad specs exit with clear messages", async () => {
  const help = await capture(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage: deno task run SPEC/);
  const bad = await capture([SPEC, "--jobs", "x"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.err, 'error: --jobs: expected an integer, got "x"');
  const preset = await capture([SPEC, "--preset", "huge"]);
  assert.equal(preset.code, 2);
  assert.match(
    preset.err,
    /--preset: "huge" is not a preset of .*example_spec\.ts \(known: smoke, paper\)/,
  );
  const window = await capture([YAML_BAD, "--dry-run"]);
  assert.equal(window.code, 2);
  assert.equal(
    window.err,
    `error: ${YAML_BAD}: variants.hv.model.windowSize: expected a window that tiles 4×4, got 5`,
  );
  const variant = await capture([
    SPEC,
    "--variant",
    "zz",
    "--dry-run",
    "--backend",
    "cpu",
  ]);
  assert.equal(variant.code, 2);
  assert.match(variant.err, /variants: no variant "zz" \(known: h, hv, all4\)/);
});

Deno.test("run CLI: --dry-run prints the resolved spec, parameter counts and the plan", async () => {
  const r = await capture([
    SPEC,
    "--preset",
    "smoke",
    "--backend",
    "cpu",
    "--variant",
    "hv",
    "--variant",
    "h",
    "--dry-run",
    "--out",
    "/nonexistent/runs",
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /"backend": "cpu"/);
  assert.match(r.out, /"epochs": 1/);
  assert.match(r.out, /\n {2}h +195 params .*scans=h epochs=1/);
  assert.match(r.out, /plan: 2 variants × 1 seeds × 1 folds = 2 jobs/);
  assert.match(r.out, /0 of 2 jobs already finished/);
});

Deno.test("run CLI: runs, then skips finished jobs on a rerun", async () => {
  const out = await Deno.makeTempDir();
  const args = [
    SPEC,
    "--preset",
    "smoke",
    "--backend",
    "cpu",
    "--jobs",
    "1",
    "--variant",
    "h",
    "--out",
    out,
  ];
  const first = await capture(args);
  assert.equal(first.code, 0, first.err);
  assert.match(
    first.out,
    /1 jobs planned, 1 selected, 0 already finished, 1 run now, 0 failed, 0 missing/,
  );
  assert.match(first.out, /report: .*example-scans\/report\//);
  const second = await capture(args);
  assert.match(second.out, /1 already finished, 0 run now/);
  await Deno.remove(out, { recursive: true });
});

Deno.test("run CLI: SIGINT stops cleanly (exit 130), keeps finished jobs, and a rerun finishes the rest", async () => {
  const spec =
    new URL("../dsl/testdata/yaml/slow_loso.yaml", import.meta.url).pathname;
  const out = await Deno.makeTempDir();
  const countDone = async () => {
    let n = 0;
    try {
      for await (const e of Deno.readDir(join(out, "slow-loso"))) {
        if (
          e.isDirectory &&
          await Deno.stat(join(out, "slow-loso", e.name, "done.json")).then(
            () => true,
            () => false,
          )
        ) n++;
      }
    } catch {
      // folder not there yet
    }
    return n;
  };
  const cmd = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../scripts/run.ts", import.meta.url).pathname,
        spec,
        "--out",
        out,
        ...args,
      ],
      env: { MERBA_DEPS: Deno.env.get("MERBA_DEPS")! },
      stdout: "piped",
      stderr: "piped",
    });
  const child = cmd(["--jobs", "2"]).spawn();
  const deadline = Date.now() + 120_000;
  while (await countDone() === 0) {
    assert.ok(Date.now() < deadline, "no job finished in 2 minutes");
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGINT");
  const res = await child.output();
  const err = new TextDecoder().decode(res.stderr);
  assert.equal(res.code, 130, err);
  assert.match(err, /stopping: finished jobs are saved/);
  const finished = await countDone();
  assert.ok(finished >= 1 && finished < 6, `finished ${finished}`);
  const rerun = await cmd(["--jobs", "1"]).output();
  const text = new TextDecoder().decode(rerun.stdout);
  assert.equal(rerun.code, 0, new TextDecoder().decode(rerun.stderr));
  assert.match(
    text,
    new RegExp(
      `6 jobs planned, 6 selected, ${finished} already finished, ${
        6 - finished
      } run now, 0 failed, 0 missing`,
    ),
  );
  await Deno.remove(out, { recursive: true });
});

/** Runs the CLI in a subprocess with the project's real dependencies. */
async function runCli(
  args: string[],
  env: Record<string, string> = {},
  flags: string[] = ["-A"],
): Promise<{ code: number; out: string; err: string }> {
  const res = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...flags,
      new URL("../scripts/run.ts", import.meta.url).pathname,
      ...args,
    ],
    env: { MERBA_DEPS: "", MERBA_DEBUG: "", NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: res.code,
    out: dec.decode(res.stdout),
    err: dec.decode(res.stderr),
  };
}

const TABLE4 = new URL("../experiments/table4.ts", import.meta.url).pathname;
const TABLE5 = new URL("../experiments/table5.ts", import.meta.url).pathname;

function assertOneCleanError(
  r: { code: number; err: string },
  code: number,
  pattern: RegExp,
): void {
  assert.equal(r.code, code, r.err);
  assert.doesNotMatch(r.err, /Uncaught/);
  assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
  const lines = r.err.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.err);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
}

Deno.test("run CLI (subprocess): a real corpus without a root is one `error:` line saying to pass --data; a root that is not a folder says to check the path", async () => {
  const out = await Deno.makeTempDir();
  try {
    const noRoot = await runCli([TABLE4, "--preset", "paper", "--out", out]);
    assertOneCleanError(
      noRoot,
      1,
      /dataset "dfme" is a real corpus .*pass --data dfme=\/path\/to\/DFME/,
    );
    const missing = await runCli([
      TABLE4,
      "--data",
      "dfme=/nonexistent/DFME",
      "--out",
      out,
    ]);
    assertOneCleanError(
      missing,
      1,
      /dataset "dfme": root \/nonexistent\/DFME does not exist or is not a folder \(check the path given to --data or dataset\.root\)$/,
    );
    const debug = await runCli([TABLE4, "--preset", "paper", "--out", out], {
      MERBA_DEBUG: "1",
    });
    assert.equal(debug.code, 1);
    assert.match(debug.err, /^error: dataset "dfme"/);
    assert.match(
      debug.err,
      /\n\s+at .*interpret\.ts/,
      "MERBA_DEBUG=1 shows the stack",
    );
    // nothing ran, nothing was written
    assert.deepEqual([...Deno.readDirSync(out)], []);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("run CLI (subprocess): bad flags, --set values and model configs are one clean `error:` line naming the cause", async () => {
  assertOneCleanError(
    await runCli([TABLE4, "--jobs", "x"]),
    2,
    /^error: --jobs: expected an integer, got "x"$/,
  );
  assertOneCleanError(
    await runCli([TABLE4, "--dry-run", "--set", "train.batchSize=0"]),
    2,
    /train\.batchSize: expected an integer ≥ 1 \(the value came from --set train\.batchSize=0\)$/,
  );
  // rejected by the model library while resolving the variants
  assertOneCleanError(
    await runCli([TABLE4, "--dry-run", "--set", "model.windowSize=5"]),
    2,
    /model\.windowSize: expected a window that tiles .* got 5 \(the value came from --set model\.windowSize=5\)$/,
  );
  assertOneCleanError(
    await runCli([TABLE4, "--dry-run", "--set", "dataset.name=nope"]),
    1,
    /unknown dataset "nope" \(known: .*dfme/,
  );
});

Deno.test("run CLI (subprocess): --dry-run without the data plans a fixed split and explains LOSO folds", async () => {
  const t4 = await runCli([TABLE4, "--dry-run", "--preset", "paper"]);
  assert.equal(t4.code, 0, t4.err);
  assert.match(t4.out, /"name": "dfme"/);
  assert.match(
    t4.out,
    /dataset: dfme — not loaded: .*pass --data dfme=\/path\/to\/DFME/,
  );
  assert.match(t4.out, /\n {2}MERba-DGCM +[\d,]+ params {2}merba head=dgcm/);
  assert.match(t4.out, /plan: 3 variants × \d+ seeds × 1 folds = \d+ jobs/);
  assert.match(
    t4.out,
    /\n {2}[0-9a-f]{16} {2}MERba-base +seed \d+ +fold split/,
  );
  const t5 = await runCli([TABLE5, "--dry-run", "--preset", "paper"]);
  assert.equal(t5.code, 0, t5.err);
  assert.match(t5.out, /dataset: megc2019 — not loaded/);
  assert.match(t5.out, /\n {2}MERba +[\d,]+ params/);
  assert.match(
    t5.out,
    /one fold per subject — folds are listed once the data is available \(pass --data megc2019=ROOT\)/,
  );
  assert.doesNotMatch(t5.out, /fold split/);
});

Deno.test("run CLI: a fixed split's dry run without the data lists the same job ids as with it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const args = [SPEC, "--preset", "smoke", "--set", "dataset.name=dfme"];
    const without = await capture([...args, "--dry-run"]);
    assert.equal(without.code, 0, without.err);
    assert.match(without.out, /dataset: dfme — not loaded/);
    const withData = await capture([
      ...args,
      "--data",
      `dfme=${root}`,
      "--dry-run",
    ]);
    assert.equal(withData.code, 0, withData.err);
    assert.doesNotMatch(withData.out, /not loaded/);
    const ids = (s: string) =>
      [...s.matchAll(/\n {2}([0-9a-f]{16}) /g)].map((m) => m[1]);
    assert.equal(ids(without.out).length, 3);
    assert.deepEqual(ids(without.out), ids(withData.out));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("run CLI (subprocess): a job that exhausts the backend's memory is a clear failure; microBatchSize fixes it", async () => {
  const out = await Deno.makeTempDir();
  try {
    const env = {
      MERBA_DEPS: new URL("../dsl/testdata/oom_deps.ts", import.meta.url).href,
    };
    const args = [SPEC, "--preset", "smoke", "--backend", "cpu", "--jobs", "1"];
    const r = await runCli([
      ...args,
      "--out",
      out,
      "--set",
      "train.batchSize=8",
    ], env);
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.out,
      /3 jobs planned, 3 selected, 0 already finished, 0 run now, 3 failed, 3 missing/,
    );
    assert.doesNotMatch(r.err, /Uncaught|\n\s+at /);
    const failures = r.err.match(
      /^job [0-9a-f]{16} \((h|hv|all4), seed 1, fold split\) ran out of cpu backend memory \(RuntimeError: Aborted\(\)[^)]*\) at batch size 8, input 64×64×2: set --set train\.microBatchSize=4 \(or a smaller train\.batchSize\) and --set train\.checkpoint=true \(token blocks recomputed in the backward pass\)$/gm,
    );
    assert.equal(failures?.length, 3, r.err);
    const fixed = await runCli([
      ...args,
      "--out",
      out,
      "--set",
      "train.batchSize=8",
      "--set",
      "train.microBatchSize=4",
    ], env);
    assert.equal(fixed.code, 0, fixed.err);
    assert.match(fixed.out, /3 run now, 0 failed, 0 missing/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

/** Runs `main` with `MERBA_DEPS` set to a test module for the call. */
async function captureWith(
  depsFile: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const previous = Deno.env.get("MERBA_DEPS")!;
  Deno.env.set(
    "MERBA_DEPS",
    new URL(`../dsl/testdata/${depsFile}`, import.meta.url).href,
  );
  try {
    return await capture(args);
  } finally {
    Deno.env.set("MERBA_DEPS", previous);
  }
}

const SMOKE = [SPEC, "--preset", "smoke", "--backend", "cpu", "--jobs", "1"];

Deno.test("run CLI: when the disk fills up, the summary and every failed job are still printed, and the report's error is one line", async () => {
  const out = await Deno.makeTempDir();
  try {
    const r = await captureWith("full_disk_deps.ts", [...SMOKE, "--out", out]);
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.out,
      /3 jobs planned, 3 selected, 0 already finished, 2 run now, 1 failed, 1 missing/,
    );
    assert.match(
      r.err,
      /^failed: hv seed 1 fold split \([0-9a-f]{16}\):\nError: No space left on device/m,
    );
    assert.match(
      r.err,
      /^error: report not written \(the finished jobs' records are kept\): No space left on device \(os error 28\)$/m,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("run CLI: an --out that cannot be written is one error line before any job", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "file");
    await Deno.writeTextFile(file, "");
    const r = await capture([...SMOKE, "--out", file]);
    assert.equal(r.code, 1, r.err);
    assert.equal(
      r.err,
      `error: run folder ${file}/example-scans is not writable (Not a directory (os error 20)): choose another --out`,
    );
    assert.doesNotMatch(r.out, /jobs planned/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run CLI: resuming with another kernel set is one error line naming both; --allow-mixed-kernels runs", async () => {
  const out = await Deno.makeTempDir();
  try {
    const first = await captureWith("blas_stand_in_deps.ts", [
      ...SMOKE,
      "--variant",
      "h",
      "--out",
      out,
    ]);
    assert.equal(first.code, 0, first.err);
    const refused = await capture([...SMOKE, "--out", out]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.err,
      /^error: .*job [0-9a-f]{16} \(h, seed 1, fold split\) finished on kernel set "cpu\+openblas", and this run uses "cpu".*--allow-mixed-kernels\)$/,
    );
    assert.equal(refused.err.split("\n").length, 1, refused.err);
    const mixed = await capture([
      ...SMOKE,
      "--out",
      out,
      "--allow-mixed-kernels",
    ]);
    assert.equal(mixed.code, 0, mixed.err);
    assert.match(mixed.out, /1 already finished, 2 run now, 0 failed/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("run CLI: a damaged finished job is redone and named; with --no-redo it fails naming the file", async () => {
  const out = await Deno.makeTempDir();
  try {
    const args = [...SMOKE, "--variant", "h", "--out", out];
    assert.equal((await capture(args)).code, 0);
    const dir = join(out, "example-scans");
    const id = [...Deno.readDirSync(dir)].find((e) => e.name !== "report")!
      .name;
    const preds = join(dir, id, "predictions.json");
    await Deno.writeTextFile(preds, "[]");
    const refused = await capture([...args, "--no-redo"]);
    assert.equal(refused.code, 1);
    assert.match(refused.out, /0 already finished, 0 run now, 1 failed/);
    assert.doesNotMatch(refused.err, /^damaged: /m, "said once, as failed");
    assert.ok(
      refused.err.includes(`failed: h seed 1 fold split (${id}):\n${preds}: `),
      refused.err,
    );
    const redone = await capture(args);
    assert.equal(redone.code, 0, redone.err);
    assert.match(redone.out, /0 already finished, 1 run now, 0 failed/);
    assert.ok(
      redone.err.includes(`damaged: h seed 1 fold split (${id}): ${preds}: `),
      redone.err,
    );
    assert.match(redone.err, / — redone$/m);
    assert.match((await capture(args)).out, /1 already finished, 0 run now/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

/** `deno run scripts/run.ts ARGS` with the stand-in deps, as a child process. */
function runChild(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../scripts/run.ts", import.meta.url).pathname,
      ...args,
    ],
    env: { MERBA_DEPS: Deno.env.get("MERBA_DEPS")!, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

function summaryCounts(text: string): Record<string, number> {
  const m = text.match(
    /(\d+) already finished, (\d+) run now, (\d+) failed(?:, (\d+) running elsewhere)?, (\d+) missing/,
  );
  assert.ok(m, text);
  return {
    finished: Number(m[1]),
    ran: Number(m[2]),
    failed: Number(m[3]),
    elsewhere: Number(m[4] ?? 0),
    missing: Number(m[5]),
  };
}

Deno.test("run CLI (subprocess): two processes on one --out share the jobs: each job trains once, nothing fails, the last one writes the complete report", async () => {
  const spec =
    new URL("../dsl/testdata/yaml/slow_loso.yaml", import.meta.url).pathname;
  const out = await Deno.makeTempDir();
  try {
    const args = [spec, "--out", out, "--jobs", "1"];
    const first = runChild(args);
    await new Promise((r) => setTimeout(r, 1500));
    const second = runChild(args);
    const results = await Promise.all([first.output(), second.output()]);
    const dec = new TextDecoder();
    const counts = results.map((r, i) => {
      const text = dec.decode(r.stdout), err = dec.decode(r.stderr);
      assert.equal(r.code, 0, `process ${i + 1}: ${text}\n${err}`);
      assert.doesNotMatch(err, /failed:|rename|No such file/);
      return summaryCounts(text);
    });
    assert.equal(counts[0].ran + counts[1].ran, 6, JSON.stringify(counts));
    for (const c of counts) {
      assert.equal(c.finished + c.ran + c.elsewhere, 6, JSON.stringify(c));
    }
    const dir = join(out, "slow-loso");
    const report = JSON.parse(
      await Deno.readTextFile(join(dir, "report", "report.json")),
    );
    assert.match(report.description, /all 6 jobs finished/);
    for (const e of Deno.readDirSync(dir)) {
      if (e.name === "report") continue;
      const files = [...Deno.readDirSync(join(dir, e.name))].map((f) => f.name);
      assert.ok(files.includes("done.json"), `${e.name}: ${files}`);
      assert.ok(
        !files.some((f) => f.startsWith("claim.json") || f.includes(".tmp-")),
        `${e.name}: ${files}`,
      );
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("run CLI (subprocess): with --out on a nearly full tmpfs every failed job and the summary are printed (skips where mount is not permitted)", async () => {
  const mnt = await Deno.makeTempDir();
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt],
    stdout: "null",
    stderr: "piped",
  }).output().catch((e) => ({
    success: false,
    stderr: new TextEncoder().encode(String(e)),
  }));
  if (!mount.success) {
    console.log(
      `skipped: cannot mount a tmpfs here (${
        new TextDecoder().decode(mount.stderr).trim()
      })`,
    );
    await Deno.remove(mnt);
    return;
  }
  try {
    // leave about 48 KiB: enough for the first job's files, not for all
    const df = await new Deno.Command("df", {
      args: ["-B1", "--output=avail", mnt],
      stdout: "piped",
    }).output();
    const avail = Number(new TextDecoder().decode(df.stdout).split("\n")[1]);
    await Deno.writeFile(
      join(mnt, "filler"),
      new Uint8Array(Math.max(0, avail - 48 * 1024)),
    );
    const child = runChild([...SMOKE, "--out", join(mnt, "runs")]);
    const r = await child.output();
    const text = new TextDecoder().decode(r.stdout);
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 1, `${text}\n${err}`);
    assert.match(err, /No space left on device/);
    const counts = summaryCounts(text);
    assert.ok(counts.failed >= 1, text);
    assert.equal(
      err.match(/^failed: /gm)?.length ?? 0,
      counts.failed,
      err,
    );
  } finally {
    await new Deno.Command("umount", { args: [mnt] }).output();
    await Deno.remove(mnt, { recursive: true });
  }
});

/** `--dry-run` of the example spec on the stand-ins with one `--set`. */
function dryRunWith(set: string) {
  return capture([SPEC, "--dry-run", "--backend", "cpu", "--set", set]);
}

Deno.test("run CLI: --dry-run refuses what cannot run (unknown split, unknown report group, a missing --data root, .inf) with one line naming file and field", async () => {
  const tests = await dryRunWith("protocol.tests=[testA, testZ]");
  assert.equal(tests.code, 2, tests.err);
  assert.equal(
    tests.err,
    `error: ${SPEC}: protocol.tests: the dataset has no split "testZ" (its splits: testA, testB, train) (the value came from --set protocol.tests=[testA, testZ])`,
  );
  const groups = await dryRunWith("report.groups=[testQ]");
  assert.equal(groups.code, 2, groups.err);
  assert.match(
    groups.err,
    /^error: .*example_spec\.ts: report\.groups: no group "testQ" \(the groups are the test splits: testA, testB\) \(the value came from --set report\.groups=\[testQ\]\)$/,
  );
  const root = await capture([
    SPEC,
    "--dry-run",
    "--backend",
    "cpu",
    "--data",
    "dfme=/nonexistent/DFME",
  ]);
  assert.equal(root.code, 1, root.err);
  assert.equal(
    root.err,
    'error: dataset "dfme": root /nonexistent/DFME does not exist or is not a folder (check the path given to --data or dataset.root)',
  );
  const inf = await dryRunWith("train.optimizer.lr=.inf");
  assert.equal(inf.code, 2, inf.err);
  assert.match(
    inf.err,
    /^error: .*example_spec\.ts \(with --set train\.optimizer\.lr, --backend\): train\.optimizer\.lr: expected a finite number, got Infinity \(the value came from --set train\.optimizer\.lr=\.inf\)$/,
  );
  const kfold = await dryRunWith("protocol={kind: kfold, k: 100}");
  assert.equal(kfold.code, 2, kfold.err);
  assert.match(
    kfold.err,
    /^error: .*example_spec\.ts.*: protocol\.k: k = 100 exceeds the dataset's \d+ subjects/,
  );
  assert.doesNotMatch(kfold.err, /<spec>/);
});

Deno.test("run CLI: a YAML spec that extends a TS spec prints a one-line notice that it runs code", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const yaml = join(dir, "child.yaml");
    await Deno.writeTextFile(yaml, `extends: ${SPEC}\nname: child\n`);
    const r = await capture([yaml, "--dry-run", "--backend", "cpu"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.err,
      `note: ${yaml} extends ${SPEC}, a TypeScript spec: it runs as code, with this process's permissions`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run CLI (subprocess): --dry-run refuses a DGCM head on 3 classes and absurd model sizes; a preset's dataset option is named when the corpus rejects it", async () => {
  assertOneCleanError(
    await runCli([
      TABLE5,
      "--dry-run",
      "--preset",
      "paper",
      "--set",
      "model.head=dgcm",
    ]),
    2,
    /model\.head: the DGCM head needs the 7 emotion classes .*; dataset megc2019 has \[negative, positive, surprise\] \(the value came from --set model\.head=dgcm\)$/,
  );
  assertOneCleanError(
    await runCli([
      TABLE4,
      "--dry-run",
      "--preset",
      "paper",
      "--set",
      "model.dims=[8, 16, 32, 1e9]",
    ]),
    2,
    /model\.dims: the model would have about [\d.]+e\+\d+ parameters \(limit 1e\+9\) \(the value came from --set model\.dims=\[8, 16, 32, 1e9\]\)$/,
  );
  const root = await Deno.makeTempDir();
  try {
    assertOneCleanError(
      await runCli([
        TABLE4,
        "--dry-run",
        "--preset",
        "smoke",
        "--data",
        `dfme=${root}`,
      ]),
      1,
      /unknown option "subjects" .*\(dataset\.options\.subjects came from --preset smoke; --set dataset\.options=null drops the inherited options\)$/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("run CLI (subprocess): a TS spec that throws or misses an import is one clean line naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(dir, "throws.ts"),
      'throw new Error("boom");\n',
    );
    await Deno.writeTextFile(
      join(dir, "imports.ts"),
      'import { x } from "./nope.ts";\nexport default x;\n',
    );
    assertOneCleanError(
      await runCli([join(dir, "throws.ts"), "--dry-run"]),
      2,
      /throws\.ts: the spec failed while loading: Error: boom$/,
    );
    const missing = await runCli([join(dir, "imports.ts"), "--dry-run"], {
      NO_COLOR: "",
    });
    assertOneCleanError(
      missing,
      2,
      /imports\.ts: the spec failed while loading: .*Module not found/,
    );
    assert.ok(!missing.err.includes("\x1b"), "no colour codes");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The permission flags of `deno task run` (deno.json), in order. */
async function runTaskFlags(): Promise<string[]> {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  );
  const words = (config.tasks.run as string).split(/\s+/);
  assert.equal(words.slice(0, 2).join(" "), "deno run");
  return words.slice(2, words.indexOf("scripts/run.ts"));
}

Deno.test("run CLI (subprocess): the run task needs no network and no blanket -A: workers, git and the real plan all work under its flags", async () => {
  const flags = await runTaskFlags();
  assert.ok(
    !flags.some((f) => /^(-A|--allow-all|--allow-net|--allow-import)/.test(f)),
    flags.join(" "),
  );
  const out = await Deno.makeTempDir();
  const run = (args: string[], env: Record<string, string>) =>
    runCli(args, env, flags);
  try {
    // two workers on the stand-ins, job records (git commit) and the report
    const jobs = await run(
      [
        SPEC,
        "--preset",
        "smoke",
        "--backend",
        "cpu",
        "--jobs",
        "2",
        "--out",
        out,
      ],
      {
        MERBA_DEPS:
          new URL("../dsl/testdata/stand_in_deps.ts", import.meta.url).href,
      },
    );
    assert.equal(jobs.code, 0, jobs.err);
    assert.match(jobs.out, /3 run now, 0 failed/);
    // the real dependencies (model library, BLAS kernels, data layer, cache)
    const dry = await run([
      TABLE4,
      "--preset",
      "smoke",
      "--dry-run",
      "--out",
      out,
    ], {
      MERBA_DEPS: "",
    });
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /plan: 3 variants/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

const STAND_IN =
  new URL("../dsl/testdata/stand_in_deps.ts", import.meta.url).href;

/** Variant h of the example spec, 2 seeds × 3 epochs, on the stand-ins. */
function pipedRun(
  out: string,
  jobs: string,
  extra: string[] = [],
  env: Record<string, string> = {},
) {
  return runCli([
    SPEC,
    "--preset",
    "smoke",
    "--set",
    "train.epochs=3",
    "--variant",
    "h",
    "--seed",
    "1,2",
    "--backend",
    "cpu",
    "--jobs",
    jobs,
    "--out",
    out,
    ...extra,
  ], { MERBA_DEPS: STAND_IN, ...env });
}

Deno.test("run CLI (subprocess, stdout piped): plain progress lines per epoch and per job, at a bounded count", async () => {
  const out = await Deno.makeTempDir();
  try {
    for (const jobs of ["1", "2"]) {
      // MERBA_PROGRESS_INTERVAL=0: every epoch of every job gets its line
      const dir = join(out, `every-${jobs}`);
      const every = await pipedRun(dir, jobs, [], {
        MERBA_PROGRESS_INTERVAL: "0",
      });
      assert.equal(every.code, 0, every.err);
      const lines = every.out.split("\n");
      const epochLines = lines.filter((l) =>
        /^job \d+\/2 .*: epoch \d\/3, loss [\d.]+/.test(l)
      );
      const doneLines = lines.filter((l) =>
        /^job \d+\/2 .*: done in \S+ \(\d\/2 finished\) \| elapsed \S+, ETA \S+$/
          .test(l)
      );
      assert.equal(epochLines.length, 2 * 3, every.out);
      assert.equal(doneLines.length, 2, every.out);
      // with two workers either job may print first: look at job 1's line
      const first = epochLines.find((l) => l.startsWith("job 1/2 "));
      assert.ok(first, every.out);
      assert.match(
        first,
        /^job 1\/2 h seed 1 split: epoch \d\/3, loss [\d.]+(, val uf1 [\d.]+)? \| elapsed \S+, ETA \S+$/,
      );
      assert.doesNotMatch(
        every.err,
        /█|░/,
        "no bars when stdout is not a terminal",
      );
    }
    // the default interval (10 s) lets at most one line per epoch through,
    // and always the job's own line
    const dflt = await pipedRun(join(out, "default"), "1");
    assert.equal(dflt.code, 0, dflt.err);
    const progress = dflt.out.split("\n").filter((l) => /^job \d+\/2 /.test(l));
    assert.ok(progress.length >= 2 && progress.length <= 2 * 4, dflt.out);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("run CLI (subprocess): says which kernel set runs, ends with the result table and one line pointing to the report; --verbose lists the files", async () => {
  const out = await Deno.makeTempDir();
  try {
    const r = await pipedRun(out, "1");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^ {2}kernels: cpu — TF\.js plain JavaScript kernels/m);
    assert.match(
      r.out,
      /^ {2}plan: {4}1 variants × 2 seeds × 1 folds = 2 jobs; 2 to run, 0 already finished$/m,
    );
    assert.match(r.out, /^ {2}dataset: tiny synthetic flows/m);
    const tail = r.out.trimEnd().split("\n");
    assert.match(
      tail.at(-1)!,
      /^report: .*example-scans\/report\/ \(.*--verbose lists all \d+ files\)$/,
    );
    // the report's terminal table: header, rule, one line per variant (mean
    // and 95% interval), then the conclusion sentence
    const head = tail.findIndex((l) => /^Method\s+Test A UF1\b/.test(l));
    assert.ok(head >= 0, r.out);
    assert.match(tail[head + 1], /^-+( +-+)+$/);
    assert.match(tail[head + 2], /^h +0\.\d+ \[\d\.\d+, \d\.\d+\]/);
    assert.equal(tail[head + 3], "");
    assert.match(tail[head + 4], /^\S.*\.$/, "the conclusion sentence");
    assert.equal(r.out.match(/^report: /gm)!.length, 1);
    const verbose = await pipedRun(out, "1", ["--verbose"]);
    assert.equal(verbose.code, 0, verbose.err);
    assert.match(verbose.out, /2 already finished, 0 run now/);
    assert.ok(verbose.out.match(/^report: /gm)!.length >= 1);
    assert.match(verbose.out, /^report: .*report\.json$/m);
    assert.match(verbose.out, /^Method\s+Test A UF1/m);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
