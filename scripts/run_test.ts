import { strict as assert } from "node:assert";
import { join } from "node:path";
import { main, startBanner, wasmHeapBytes } from "./run.ts";
import * as tf from "@tensorflow/tfjs";

const SPEC =
  new URL("../dsl/testdata/example_spec.ts", import.meta.url).pathname;
const YAML_BAD =
  new URL("../dsl/testdata/yaml/bad_window.yaml", import.meta.url).pathname;

async function capture(
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const log = console.log, error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

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
  assert.match(first.out, /report: .*report\.json/);
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
        new URL("./run.ts", import.meta.url).pathname,
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
): Promise<{ code: number; out: string; err: string }> {
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./run.ts", import.meta.url).pathname, ...args],
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

Deno.test("run CLI (subprocess): a real corpus without a usable root is one `error:` line saying to pass --data", async () => {
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
      /dataset "dfme": root \/nonexistent\/DFME does not exist .*pass --data dfme=\/path\/to\/DFME/,
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

Deno.test("startBanner says when the data is the synthetic test-bed and which preset runs", () => {
  const spec = {
    name: "t7",
    description: "scan ablation",
    dataset: { name: "synthetic-dfme" },
  };
  const plain = startBanner(spec, undefined, "runs");
  assert.match(plain, /^t7: scan ablation/);
  assert.match(plain, /synthetic test-bed, not real data/);
  assert.match(plain, /preset: {2}none/);
  assert.match(plain, /runs\/t7\//);
  const real = startBanner(
    { ...spec, dataset: { name: "dfme" } },
    "paper",
    "out",
  );
  assert.doesNotMatch(real, /synthetic/);
  assert.match(real, /preset: {2}paper/);
});

Deno.test("wasmHeapBytes reads the wasm heap only when wasm is the active backend", async () => {
  // imported here: loading the model library registers the webgpu backend,
  // which the in-process dry-run tests above must not see
  const { initBackend } = await import("../model/mod.ts");
  const previous = tf.engine().backendName;
  await initBackend("wasm");
  const before = wasmHeapBytes();
  assert.ok(before !== null && before > 0 && before % 65536 === 0, `${before}`);
  // a 64 MiB tensor makes the heap grow to hold it
  const t = tf.zeros([16, 2 ** 20]);
  const after = wasmHeapBytes()!;
  assert.ok(
    after >= before + 64 * 2 ** 20 || after >= 64 * 2 ** 20,
    `${after}`,
  );
  t.dispose();
  await tf.setBackend("cpu");
  assert.equal(wasmHeapBytes(), null);
  if (previous && previous !== "cpu") await tf.setBackend(previous);
});

Deno.test("the default backend is chosen only when neither the spec, its preset, --backend nor --set backend names one", async () => {
  const { backendUnset } = await import("./run.ts");
  assert.equal(backendUnset({ name: "x" }, {}), true);
  assert.equal(backendUnset({ name: "x", backend: "cpu" }, {}), false);
  assert.equal(backendUnset({ name: "x" }, { backend: "wasm" }), false);
  assert.equal(
    backendUnset({ name: "x" }, { sets: [{ path: "backend" }] }),
    false,
  );
  const raw = { name: "x", presets: { gpu: { backend: "webgpu" }, smoke: {} } };
  assert.equal(backendUnset(raw, { preset: "gpu" }), false);
  assert.equal(backendUnset(raw, { preset: "smoke" }), true);
});
