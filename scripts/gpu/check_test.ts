/**
 * Tests of the GPU check's orchestration (result parsing, time limits,
 * process timeouts, ratios, summary) and of the pieces its stages use that
 * run on CPU backends: step timing and its seeded reproducibility, the
 * backend comparison, the profile aggregation, and the PyTorch twin's
 * parallel scan against its loop (when a Python with torch is present).
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  checkPlan,
  parseResults,
  ratios,
  runProcess,
  stageLimit,
  staleSources,
  summary,
} from "./check.ts";
import { compare } from "./correctness.ts";
import { aggregate, parseExtraInfo } from "./profile.ts";
import { findTorch, median, timeSteps } from "../bench/gpu_bench.ts";
import { initBackend } from "../../model/mod.ts";

Deno.test("parseResults keeps RESULT lines as JSON and marks broken ones", () => {
  const r = parseResults([
    "progress",
    'RESULT {"kind":"steps","batch":4}',
    "RESULT {broken",
  ]);
  assert.deepEqual(r[0], { kind: "steps", batch: 4 });
  assert.equal(r[1].kind, "unparsed");
  assert.equal(r.length, 2);
});

Deno.test("stageLimit cuts a stage's budget to what is left minus the reserve, and skips below the minimum", () => {
  assert.equal(stageLimit(60, 300, 20), 60);
  assert.equal(stageLimit(60, 50, 20), 30);
  assert.equal(stageLimit(60, 29, 20), 0);
  assert.equal(stageLimit(Infinity, 100.7), 100);
});

Deno.test("the full plan's stage budgets leave table7 time inside the 440 s default budget", () => {
  const p = checkPlan(false);
  const sum = Object.values(p.budgets).reduce((a, b) => a + b, 0);
  assert.ok(sum <= 440 - 60, `stage budgets ${sum} s leave < 60 s for table7`);
  assert.equal(p.size, 224);
  assert.equal(p.model, "base");
  assert.equal(p.maxBatches[0], 128);
  assert.equal(checkPlan(true).table7Preset, "smoke");
});

Deno.test("runProcess stops a process at its limit and keeps the results it printed", async () => {
  const r = await runProcess(
    ["sh", "-c", 'echo "RESULT {\\"kind\\":\\"x\\"}"; echo late >&2; sleep 30'],
    1,
    { env: { PATH: Deno.env.get("PATH") ?? "" }, log: () => {} },
  );
  assert.equal(r.status, "timeout");
  assert.deepEqual(r.results, [{ kind: "x" }]);
  assert.ok(r.tail.includes("late"));
  assert.ok(r.seconds < 20);
  const ok = await runProcess(["sh", "-c", "exit 3"], 5, {
    env: { PATH: Deno.env.get("PATH") ?? "" },
    log: () => {},
  });
  assert.equal(ok.status, "failed");
  assert.equal(ok.code, 3);
});

Deno.test("ratios pair tfjs and torch measurements of the same batch; summary names every stage", () => {
  const results = [
    { kind: "steps", variant: "fused", batch: 32, samplesPerSecond: 50 },
    { kind: "steps", variant: "loop", batch: 32, samplesPerSecond: 10 },
    {
      kind: "torch",
      scan: "loop",
      batch: 32,
      samplesPerSecond: 100,
      device: "cuda",
    },
    { kind: "torch", scan: "parallel", batch: 128, error: "out of memory" },
  ];
  const r = ratios(results);
  assert.equal(r["tfjs-fused/torch-cuda-loop @32"], 0.5);
  assert.equal(r["tfjs-loop/torch-cuda-loop @32"], 0.1);
  assert.equal(Object.keys(r).length, 2);
  const lines = summary({
    stages: [
      {
        name: "fused",
        status: "ok",
        seconds: 3,
        limitSeconds: 10,
        runs: [],
        results,
      },
      {
        name: "table7",
        status: "skipped",
        reason: "budget exhausted",
        seconds: 0,
        limitSeconds: 0,
        runs: [],
        results: [],
      },
    ],
    ratios: r,
  });
  const text = lines.join("\n");
  assert.match(text, /adapter: none/);
  assert.match(text, /fused +ok/);
  assert.match(text, /table7 +skipped .*budget exhausted/);
  assert.match(text, /tfjs-webgpu fused batch +32: 50\.00 samples\/s/);
  assert.match(text, /error: out of memory/);
  assert.match(text, /ratio tfjs-fused\/torch-cuda-loop @32: 0\.500/);
});

Deno.test("staleSources names archive files that differ from or are missing in the working tree, ignoring deno.json, deno.lock and node_modules", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const p = join(tmp, "project"), t = join(tmp, "tree");
    for (const d of [p, t]) {
      await Deno.mkdir(join(d, "scripts", "gpu"), { recursive: true });
      await Deno.mkdir(join(d, "node_modules"), { recursive: true });
      await Deno.writeTextFile(join(d, "scripts/gpu/same.ts"), "same");
      await Deno.writeTextFile(join(d, "deno.json"), d === p ? "cut" : "full");
      await Deno.writeTextFile(join(d, "deno.lock"), d === p ? "cut" : "full");
      await Deno.writeTextFile(join(d, "node_modules/x.js"), d);
    }
    await Deno.writeTextFile(join(p, "scripts/gpu/stage.ts"), "old");
    await Deno.writeTextFile(join(t, "scripts/gpu/stage.ts"), "new");
    await Deno.writeTextFile(join(p, "only_packed.ts"), "x");
    assert.deepEqual(await staleSources(p, t), [
      "only_packed.ts",
      "scripts/gpu/stage.ts",
    ]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("compare gives normwise and max relative errors and counts new non-finite values", () => {
  const c = compare("x", [1, 2, NaN, 4], [1, 2, 3, 2]);
  assert.equal(c.nonFinite, 1);
  assert.ok(Math.abs(c.relL2 - 2 / Math.sqrt(1 + 4 + 4)) < 1e-12);
  assert.equal(c.relMax, 1);
  assert.equal(compare("z", [0, 0], [0, 0]).relL2, 0);
  assert.throws(() => compare("n", [1], [1, 2]), /1 vs 2 elements/);
});

Deno.test("profile helpers parse tfjs-webgpu's extraInfo and aggregate by name, most time first", () => {
  assert.deepEqual(parseExtraInfo("MatMulPackedProgram: 0.5, Object: 1.25"), [
    ["MatMulPackedProgram", 0.5],
    ["Object", 1.25],
  ]);
  assert.deepEqual(parseExtraInfo(undefined), []);
  const a = aggregate([["A", 1], ["B", 3], ["A", 1]]);
  assert.deepEqual(a.map((k) => [k.name, k.count, k.ms]), [
    ["B", 1, 3],
    ["A", 2, 2],
  ]);
  assert.equal(a[0].share, 0.6);
});

Deno.test({
  name:
    "timeSteps: two seeded runs on wasm give bit-identical losses and weights; the epoch time is extrapolated from the median step",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend("wasm");
    const o = {
      batch: 2,
      size: 32,
      model: "small" as const,
      seed: 5,
      steps: 2,
      maxSeconds: 1e9,
    };
    const a = await timeSteps(o, "fused");
    const b = await timeSteps(o, "fused");
    assert.equal(a.losses.length, 3);
    assert.deepEqual(a.losses, b.losses);
    assert.equal(a.weightsHash, b.weightsHash);
    assert.equal(a.medianStepMs, median(a.stepMs));
    assert.ok(Math.abs(a.epochSeconds - 1856 / a.samplesPerSecond) < 1e-9);
  },
});

const here = dirname(fileURLToPath(import.meta.url));
const torch = await findTorch(["python3", "/usr/bin/python3"]);

Deno.test({
  name:
    "the PyTorch twin's parallel (Hillis-Steele) scan matches its loop scan in float64, outputs and all gradients",
  ignore: torch === null,
  fn: async () => {
    const out = await new Deno.Command(torch!.python, {
      args: [
        "-c",
        `import sys; sys.path.insert(0, ${
          JSON.stringify(join(here, "..", "bench"))
        }); import gpu_torch; print(gpu_torch.self_test())`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const err = Number(new TextDecoder().decode(out.stdout).trim());
    assert.ok(err < 1e-10, `max relative error ${err}`);
  },
});
