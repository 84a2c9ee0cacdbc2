/**
 * The GPU check: one time-boxed run that proves and measures the
 * webgpu path on the machine it runs on, and writes `check.json` into
 * `--out` (rewritten after every stage, so a run stopped early keeps what
 * finished). `scripts/gpu/check.sh` unpacks what travelled and calls this;
 * run it directly in a checkout with `deno run -A scripts/gpu/check.ts`.
 *
 * Stages, in order, each a separate process (`stage.ts`, the PyTorch twin,
 * `scripts/run.ts`) under `timeout` with its own budget, cut to what is
 * left of `--budget`; a stage that fails or times out does not stop the
 * others:
 *
 * 1. `adapter`: the WebGPU adapter (name, driver, features, limits); when
 *    none is found and the NVIDIA ICD file exists, again with
 *    `VK_DRIVER_FILES` pointing at it (kept for all later stages).
 * 2. `correctness`: fused selective scan forward/backward and a small
 *    MERba forward+backward on webgpu against the `cpu` backend.
 * 3. `fused`, `loop`: MERba-B (224×224, DGCM) training steps with the fused
 *    scan kernel and with the op loop, at batch 32 and at the largest batch
 *    of 128, 96, 64, 48 that runs (found with the fused kernel).
 * 4. `torch`: the same steps in PyTorch (`scripts/bench/gpu_torch.py`, CUDA
 *    when torch sees it, else the CPU, said so), loop and parallel scan.
 * 5. `determinism`: two seeded runs of a few steps, per matmul setting.
 * 6. `profile`: per-kernel/per-program time of one step.
 * 7. `table7`: `scripts/run.ts experiments/table7.ts --backend webgpu` at
 *    its default scale (the rest of the budget; finished jobs counted).
 *
 * `--tiny` shrinks every size (small widths, 32×32, batches 4/8) for a
 * rehearsal on software Vulkan; table7 then runs `--preset smoke`.
 *
 * Usage: `deno run -A scripts/gpu/check.ts --out DIR [--tiny] [--budget 440]
 * [--python python3] [--work DIR] [--stages a,b,…]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { benchConfig, findTorch } from "../bench/gpu_bench.ts";

/** Every stage, in the order run. */
export const STAGES = [
  "adapter",
  "correctness",
  "fused",
  "loop",
  "torch",
  "determinism",
  "profile",
  "table7",
] as const;
/** A stage name. */
export type StageName = typeof STAGES[number];

/** Sizes and time budgets (seconds) of one check. */
export interface CheckPlan {
  /** model, input size. */
  model: "base" | "small";
  /** input height = width. */
  size: number;
  /** the fixed batch. */
  batch: number;
  /** largest-batch candidates, tried in order (fused) until one runs. */
  maxBatches: number[];
  /** timed steps per measurement, and the seconds after which timing stops. */
  steps: number;
  /** seconds of timed steps at most per measurement. */
  maxSeconds: number;
  /** determinism: batch and steps. */
  reproBatch: number;
  /** steps of each determinism run. */
  reproSteps: number;
  /** profile batch. */
  profileBatch: number;
  /** table7 preset (undefined: the spec's default scale). */
  table7Preset?: string;
  /** budget of each stage (table7: what is left). */
  budgets: Record<Exclude<StageName, "table7">, number>;
  /** budget of one measurement process inside `fused`/`loop`. */
  measureBudget: number;
}

/** The plan of a full (GPU) or `tiny` (software Vulkan rehearsal) check. */
export function checkPlan(tiny: boolean): CheckPlan {
  if (tiny) {
    return {
      model: "small",
      size: 32,
      batch: 4,
      maxBatches: [8, 6],
      steps: 2,
      maxSeconds: 10,
      reproBatch: 2,
      reproSteps: 1,
      profileBatch: 2,
      table7Preset: "smoke",
      budgets: {
        adapter: 60,
        correctness: 120,
        fused: 300,
        loop: 300,
        torch: 150,
        determinism: 300,
        profile: 150,
      },
      measureBudget: 150,
    };
  }
  return {
    model: "base",
    size: 224,
    batch: 32,
    maxBatches: [128, 96, 64, 48],
    steps: 4,
    maxSeconds: 8,
    reproBatch: 16,
    reproSteps: 3,
    profileBatch: 32,
    budgets: {
      adapter: 20,
      correctness: 45,
      fused: 100,
      loop: 70,
      torch: 75,
      determinism: 40,
      profile: 30,
    },
    measureBudget: 60,
  };
}

/** Outcome of one process. */
export interface ProcessOutcome {
  /** ok (exit 0), failed (other exit), timeout (killed at the limit). */
  status: "ok" | "failed" | "timeout";
  /** exit code. */
  code: number;
  /** wall seconds. */
  seconds: number;
  /** the `RESULT {json}` lines, parsed. */
  results: Record<string, unknown>[];
  /** the last output lines (for failures). */
  tail: string[];
}

/** Parses `RESULT {json}` lines out of a process' output (others ignored). */
export function parseResults(lines: string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const l of lines) {
    if (!l.startsWith("RESULT ")) continue;
    try {
      out.push(JSON.parse(l.slice(7)));
    } catch {
      out.push({ kind: "unparsed", line: l.slice(0, 500) });
    }
  }
  return out;
}

/**
 * Seconds a stage may run: its own budget, cut to what is left before the
 * deadline minus `reserve` (time kept for the stages after it); 0 = skip.
 */
export function stageLimit(
  budget: number,
  leftSeconds: number,
  reserve = 0,
  minimum = 10,
): number {
  const s = Math.floor(Math.min(budget, leftSeconds - reserve));
  return s >= minimum ? s : 0;
}

/**
 * Runs `cmd` under coreutils `timeout` (which signals the whole process
 * group, so children go too), streaming every output line to `log` with a
 * prefix.
 */
export async function runProcess(
  cmd: string[],
  limitSeconds: number,
  o: { env: Record<string, string>; cwd?: string; log: (s: string) => void },
): Promise<ProcessOutcome> {
  const t0 = performance.now();
  const child = new Deno.Command("timeout", {
    args: ["-k", "10", String(limitSeconds), ...cmd],
    env: o.env,
    cwd: o.cwd,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const lines: string[] = [];
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoderStream();
    let buf = "";
    for await (const chunk of s.pipeThrough(dec)) {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, "");
        buf = buf.slice(i + 1);
        lines.push(line);
        o.log(line);
      }
    }
    if (buf) {
      lines.push(buf);
      o.log(buf);
    }
  };
  const [st] = await Promise.all([
    child.status,
    pump(child.stdout),
    pump(child.stderr),
  ]);
  const seconds = (performance.now() - t0) / 1000;
  // timeout exits 124 when it sent the signal (137 after -k's KILL)
  const status = st.code === 0
    ? "ok"
    : st.code === 124 || st.code === 137
    ? "timeout"
    : "failed";
  return {
    status,
    code: st.code,
    seconds,
    results: parseResults(lines),
    tail: lines.filter((l) => !l.startsWith("RESULT ")).slice(-15),
  };
}

/** One stage's record in check.json. */
export interface StageRecord {
  /** stage name. */
  name: StageName;
  /** ok, failed, timeout, skipped (with `reason`). */
  status: "ok" | "failed" | "timeout" | "skipped";
  /** why it was skipped or what failed. */
  reason?: string;
  /** seconds it ran. */
  seconds: number;
  /** limit it ran under. */
  limitSeconds: number;
  /** the processes it ran (command and outcome). */
  runs: { cmd: string[]; status: string; code: number; seconds: number }[];
  /** every RESULT of those processes. */
  results: Record<string, unknown>[];
  /** last output lines of a process that failed or timed out. */
  tail?: string[];
}

async function commandText(cmd: string, args: string[]): Promise<string> {
  try {
    const o = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(o.success ? o.stdout : o.stderr).trim();
  } catch (e) {
    return `(${cmd} not available: ${(e as Error).message})`;
  }
}

/**
 * Project files (outside node_modules; the shipped deno.json and deno.lock,
 * which pack.ts cuts to the shipped packages, excepted) that differ from, or are missing in, the
 * working tree `tree`: an archive packed before the last code change.
 */
export async function staleSources(
  project: string,
  tree: string,
): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(join(project, rel))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) {
        if (e.name !== "node_modules" && e.name !== ".cache") await walk(r);
      } else if (
        e.isFile && r !== "deno.json" && r !== "deno.lock" &&
        !e.name.startsWith(".")
      ) {
        let same = false;
        try {
          const [a, b] = await Promise.all([
            Deno.readFile(join(project, r)),
            Deno.readFile(join(tree, r)),
          ]);
          same = a.length === b.length && a.every((x, i) => x === b[i]);
        } catch {
          same = false;
        }
        if (!same) out.push(r);
      }
    }
  };
  await walk("");
  return out.sort();
}

async function countFiles(dir: string, name: string): Promise<number> {
  let n = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) n += await countFiles(p, name);
      else if (e.name === name) n++;
    }
  } catch {
    // missing folder: 0
  }
  return n;
}

/** Numbers of a finished check, for the summary. */
function num(x: unknown, digits = 2): string {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "—";
}

/** The human summary printed last (the tool returns the end of the output). */
export function summary(report: Record<string, unknown>): string[] {
  const stages = report.stages as StageRecord[];
  const out: string[] = ["", "=== GPU check summary ==="];
  const adapter = stages.find((s) => s.name === "adapter")?.results.find((
    r,
  ) => r.kind === "adapter")?.adapter as
    | { info: Record<string, unknown>; limits: Record<string, number> }
    | null
    | undefined;
  out.push(
    `adapter: ${
      adapter
        ? `${adapter.info.description} (vendor ${adapter.info.vendor}, device ${adapter.info.device}); maxStorageBufferBindingSize ${adapter.limits.maxStorageBufferBindingSize}, maxBufferSize ${adapter.limits.maxBufferSize}`
        : "none"
    }`,
  );
  for (const s of stages) {
    out.push(
      `${s.name.padEnd(12)} ${s.status.padEnd(8)} ${
        s.seconds.toFixed(0).padStart(4)
      } s / ${s.limitSeconds} s${s.reason ? `  (${s.reason})` : ""}`,
    );
  }
  const corr = stages.find((s) => s.name === "correctness")?.results.find((
    r,
  ) => r.kind === "correctness") as
    | { worst: Record<string, { name: string; relL2: number }>; pass: boolean }
    | undefined;
  if (corr) {
    out.push(
      `correctness (relL2 vs cpu): scan worst ${
        corr.worst.scan.relL2.toExponential(1)
      } (${corr.worst.scan.name}), model worst ${
        corr.worst.model.relL2.toExponential(1)
      } (${corr.worst.model.name}) — ${corr.pass ? "PASS" : "FAIL"}`,
    );
  }
  out.push("throughput (samples/s; DFME epoch of 1856 clips):");
  for (const s of stages) {
    for (const r of s.results) {
      if (r.kind === "steps") {
        out.push(
          `  tfjs-webgpu ${String(r.variant).padEnd(5)} batch ${
            String(r.batch).padStart(3)
          }: ${num(r.samplesPerSecond)} samples/s, ${
            num(r.medianStepMs, 0)
          } ms/step, epoch ≈ ${num(r.epochSeconds, 1)} s`,
        );
      } else if (r.kind === "torch") {
        out.push(
          `  torch ${r.device} ${String(r.scan).padEnd(8)} batch ${
            String(r.batch).padStart(3)
          }: ${
            r.error
              ? `error: ${r.error}`
              : `${num(r.samplesPerSecond)} samples/s, ${
                num(r.medianStepMs, 0)
              } ms/step, epoch ≈ ${num(r.epochSeconds, 1)} s`
          }${r.note ? ` [${r.note}]` : ""}`,
        );
      } else if (r.kind === "step-failed") {
        out.push(`  tfjs-webgpu ${r.variant} batch ${r.batch}: ${r.status}`);
      }
    }
  }
  const ratios = report.ratios as Record<string, number | null> | undefined;
  if (ratios) {
    for (const [k, v] of Object.entries(ratios)) {
      out.push(`ratio ${k}: ${v === null ? "—" : v.toFixed(3)}`);
    }
  }
  for (const s of stages) {
    for (const r of s.results) {
      if (r.kind === "training-repro") {
        out.push(
          `determinism, ${r.matmul}: losses ${
            r.lossesBitIdentical ? "bit-identical" : "DIFFER"
          }, weights ${r.weightsBitIdentical ? "bit-identical" : "DIFFER"}`,
        );
      } else if (r.kind === "matmul-repro") {
        out.push(
          `determinism, split-K-shaped matmul ${r.matmul}: ${r.distinct} distinct result(s) in ${r.runs} runs`,
        );
      } else if (r.kind === "profile") {
        const p = r as unknown as {
          byProgram: { name: string; share: number }[];
          byKernel: { name: string; share: number }[];
          wallMs: number;
          kernelMs: number;
          timestamps: boolean;
        };
        const top = (p.byProgram.length ? p.byProgram : p.byKernel).slice(0, 8)
          .map((k) => `${k.name} ${(100 * k.share).toFixed(0)}%`).join(", ");
        out.push(
          `profile (${
            p.timestamps ? "GPU timestamps" : "no timestamps"
          }): step ${num(p.wallMs, 0)} ms wall, ${
            num(p.kernelMs, 0)
          } ms in kernels; ${top}`,
        );
      } else if (r.kind === "table7") {
        out.push(
          `table7 (${r.preset}): ${r.jobsDone} job(s) finished in ${
            num(r.seconds, 0)
          } s, report ${r.report ? "written" : "not written"}`,
        );
      }
    }
  }
  return out;
}

/** Ratios ours/PyTorch (samples/s) at each batch both sides measured. */
export function ratios(
  results: Record<string, unknown>[],
): Record<string, number | null> {
  const ours = results.filter((r) => r.kind === "steps") as {
    variant: string;
    batch: number;
    samplesPerSecond: number;
  }[];
  const theirs = results.filter((r) => r.kind === "torch" && !r.error) as {
    scan: string;
    batch: number;
    samplesPerSecond: number;
    device: string;
  }[];
  const out: Record<string, number | null> = {};
  for (const o of ours) {
    for (const t of theirs) {
      if (t.batch !== o.batch) continue;
      out[`tfjs-${o.variant}/torch-${t.device}-${t.scan} @${o.batch}`] =
        o.samplesPerSecond / t.samplesPerSecond;
    }
  }
  return out;
}

/** CLI entry; returns the exit code (0 when every stage ran; 1 otherwise). */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: "string" },
      tiny: { type: "boolean", default: false },
      budget: { type: "string", default: "440" },
      python: { type: "string" },
      work: { type: "string" },
      stages: { type: "string", default: STAGES.join(",") },
    },
    strict: true,
  });
  if (!values.out) {
    console.error("error: --out DIR is required (where check.json goes)");
    return 2;
  }
  const budget = Number(values.budget);
  if (!(budget > 0)) {
    console.error(
      `error: --budget must be seconds > 0, got "${values.budget}"`,
    );
    return 2;
  }
  const wanted = new Set(values.stages.split(","));
  for (const s of wanted) {
    if (!(STAGES as readonly string[]).includes(s)) {
      console.error(
        `error: --stages: unknown stage "${s}" (${STAGES.join(", ")})`,
      );
      return 2;
    }
  }
  const out = resolve(values.out);
  await Deno.mkdir(out, { recursive: true });
  const work = resolve(
    values.work ?? await Deno.makeTempDir({ prefix: "merba_gpu_check_" }),
  );
  await Deno.mkdir(work, { recursive: true });
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const plan = checkPlan(values.tiny);
  const deadline = performance.now() + budget * 1000;
  const left = () => (deadline - performance.now()) / 1000;
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp",
    PYTHONUNBUFFERED: "1",
    NO_COLOR: "1",
  };
  const log = (s: string) => console.log(s);
  const deno = [Deno.execPath(), "run", "--cached-only", "-A"];
  const stageTs = join(root, "scripts/gpu/stage.ts");
  const sizeArgs = [
    "--model",
    plan.model,
    "--size",
    String(plan.size),
  ];
  const report: Record<string, unknown> = {
    format: "merba-gpu-check/1",
    started: new Date().toISOString(),
    tiny: values.tiny,
    budgetSeconds: budget,
    plan,
    host: {
      uname: await commandText("uname", ["-a"]),
      nproc: navigator.hardwareConcurrency,
      nvidiaSmi: await commandText("nvidia-smi", [
        "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
        "--format=csv,noheader",
      ]),
      deno: Deno.version,
      vkDriverFiles: env.VK_DRIVER_FILES ?? null,
    },
    stages: [] as StageRecord[],
  };
  const tree = Deno.env.get("MERBA_WORKTREE");
  if (tree && resolve(tree) !== root) {
    const stale = await staleSources(root, tree);
    (report.host as Record<string, unknown>).staleSources = stale;
    if (stale.length) {
      log(
        `WARNING: the archive was packed before the last change: ${stale.length} source file(s) differ from the working tree (${
          stale.slice(0, 8).join(", ")
        }${stale.length > 8 ? ", …" : ""}); rerun scripts/gpu/prepare.sh`,
      );
    } else log("archive sources match the working tree");
  }
  const stages = report.stages as StageRecord[];
  const save = async () => {
    report.updated = new Date().toISOString();
    const all = stages.flatMap((s) => s.results);
    report.ratios = ratios(all);
    const tmp = join(out, ".check.json.tmp");
    await Deno.writeTextFile(tmp, JSON.stringify(report, null, 2) + "\n");
    await Deno.rename(tmp, join(out, "check.json"));
  };
  const reserveAfter = (name: StageName) => {
    // keep a few seconds per later stage so each at least starts
    const i = STAGES.indexOf(name);
    return STAGES.slice(i + 1).filter((s) => wanted.has(s)).length * 5;
  };
  const stage = async (
    name: StageName,
    budgetS: number,
    body: (rec: StageRecord, limit: number) => Promise<void>,
    skipReason?: string,
  ) => {
    const rec: StageRecord = {
      name,
      status: "skipped",
      seconds: 0,
      limitSeconds: 0,
      runs: [],
      results: [],
    };
    stages.push(rec);
    if (!wanted.has(name)) {
      rec.reason = "not in --stages";
    } else if (skipReason) {
      rec.reason = skipReason;
    } else {
      const limit = stageLimit(budgetS, left(), reserveAfter(name));
      rec.limitSeconds = limit;
      if (limit === 0) rec.reason = "budget exhausted";
      else {
        log(
          `--- stage ${name} (limit ${limit} s, ${
            left().toFixed(0)
          } s left) ---`,
        );
        const t0 = performance.now();
        try {
          await body(rec, limit);
        } catch (e) {
          rec.status = "failed";
          rec.reason = (e as Error).message;
        }
        rec.seconds = (performance.now() - t0) / 1000;
      }
    }
    log(
      `--- stage ${name}: ${rec.status}${
        rec.reason ? ` (${rec.reason})` : ""
      } ---`,
    );
    await save();
  };
  const runIn = async (
    rec: StageRecord,
    cmd: string[],
    limit: number,
    prefix: string = rec.name,
  ): Promise<ProcessOutcome> => {
    const r = await runProcess(cmd, limit, {
      env,
      cwd: root,
      log: (s) => log(`[${prefix}] ${s}`),
    });
    rec.runs.push({
      cmd: cmd.map((c) => c.replace(root + "/", "")),
      status: r.status,
      code: r.code,
      seconds: r.seconds,
    });
    rec.results.push(...r.results);
    if (r.status !== "ok") rec.tail = r.tail;
    return r;
  };
  const finish = (rec: StageRecord, r: ProcessOutcome) => {
    rec.status = r.status;
    if (r.status === "failed") rec.reason = `exit ${r.code}`;
    if (r.status === "timeout") rec.reason = `stopped at ${rec.limitSeconds} s`;
  };

  // 1. adapter (retry with the NVIDIA ICD when none is found)
  let haveAdapter = false;
  await stage("adapter", plan.budgets.adapter, async (rec, limit) => {
    let r = await runIn(rec, [...deno, stageTs, "adapter"], limit);
    const icd = "/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json";
    if (r.code === 3 && !env.VK_DRIVER_FILES) {
      let exists = false;
      try {
        exists = (await Deno.stat(icd)).isFile;
      } catch {
        exists = false;
      }
      if (exists) {
        log(`no adapter; retrying with VK_DRIVER_FILES=${icd}`);
        env.VK_DRIVER_FILES = icd;
        (report.host as Record<string, unknown>).vkDriverFiles = icd;
        rec.results.length = 0;
        r = await runIn(rec, [...deno, stageTs, "adapter"], limit);
      }
    }
    haveAdapter = r.code === 0;
    finish(rec, r);
  });
  const noGpu = haveAdapter ? undefined : "no WebGPU adapter";

  // 2. correctness
  await stage("correctness", plan.budgets.correctness, async (rec, limit) => {
    finish(
      rec,
      await runIn(rec, [
        ...deno,
        stageTs,
        "correctness",
        ...(values.tiny ? ["--tiny"] : []),
      ], limit),
    );
  }, noGpu);

  // 3. throughput: fused finds the largest batch, loop reuses it
  let maxBatch: number | null = null;
  const measure = async (
    rec: StageRecord,
    variant: "fused" | "loop",
    batch: number,
    limit: number,
  ) => {
    const r = await runIn(
      rec,
      [
        ...deno,
        stageTs,
        "steps",
        "--variant",
        variant,
        "--batch",
        String(batch),
        ...sizeArgs,
        "--steps",
        String(plan.steps),
        "--max-seconds",
        String(plan.maxSeconds),
      ],
      limit,
      `${variant} b${batch}`,
    );
    const ok = r.status === "ok" && r.results.some((x) => x.kind === "steps");
    if (!ok) {
      rec.results.push({
        kind: "step-failed",
        variant,
        batch,
        status: r.status === "timeout"
          ? `timed out after ${limit} s`
          : `exit ${r.code}`,
        error: r.results.find((x) => x.kind === "error")?.error ?? null,
      });
    }
    return ok;
  };
  const throughput =
    (variant: "fused" | "loop") => async (rec: StageRecord, limit: number) => {
      const end = performance.now() + limit * 1000;
      const rest = () => Math.floor((end - performance.now()) / 1000);
      const okSmall = await measure(
        rec,
        variant,
        plan.batch,
        Math.min(plan.measureBudget, rest()),
      );
      const candidates = variant === "fused"
        ? plan.maxBatches
        : maxBatch !== null
        ? [maxBatch]
        : [];
      for (const b of candidates) {
        if (!okSmall || rest() < 10) break;
        if (
          await measure(rec, variant, b, Math.min(plan.measureBudget, rest()))
        ) {
          if (variant === "fused") maxBatch = b;
          break;
        }
      }
      rec.status = okSmall ? "ok" : "failed";
      if (!okSmall) rec.reason = `batch ${plan.batch} did not run`;
    };
  await stage("fused", plan.budgets.fused, throughput("fused"), noGpu);
  await stage("loop", plan.budgets.loop, throughput("loop"), noGpu);

  // 4. PyTorch twin
  await stage("torch", plan.budgets.torch, async (rec, limit) => {
    const candidates = values.python
      ? [values.python]
      : ["python3", "/usr/bin/python3"];
    const found = await findTorch(candidates);
    if (!found) {
      rec.status = "skipped";
      rec.reason = `no torch in ${candidates.join(", ")}`;
      return;
    }
    const cfg = join(work, "torch_config.json");
    await Deno.writeTextFile(
      cfg,
      JSON.stringify(benchConfig({ size: plan.size, model: plan.model })),
    );
    const batches = [plan.batch, maxBatch ?? plan.maxBatches[0]];
    finish(
      rec,
      await runIn(rec, [
        found.python,
        "-u",
        join(root, "scripts/bench/gpu_torch.py"),
        "--config",
        cfg,
        "--device",
        "auto",
        "--steps",
        String(plan.steps),
        "--max-seconds",
        String(plan.maxSeconds),
        "--batches",
        [...new Set(batches)].join(","),
        "--scans",
        "loop,parallel",
        "--self-test",
      ], limit),
    );
  });

  // 5. determinism
  await stage("determinism", plan.budgets.determinism, async (rec, limit) => {
    finish(
      rec,
      await runIn(rec, [
        ...deno,
        stageTs,
        "determinism",
        ...sizeArgs,
        "--batch",
        String(plan.reproBatch),
        "--steps",
        String(plan.reproSteps),
      ], limit),
    );
  }, noGpu);

  // 6. profile
  await stage("profile", plan.budgets.profile, async (rec, limit) => {
    finish(
      rec,
      await runIn(rec, [
        ...deno,
        stageTs,
        "profile",
        ...sizeArgs,
        "--batch",
        String(plan.profileBatch),
      ], limit),
    );
  }, noGpu);

  // 7. table7 end to end, the rest of the budget
  await stage("table7", Infinity, async (rec, limit) => {
    const runs = join(work, "runs");
    const r = await runIn(rec, [
      ...deno,
      join(root, "scripts/run.ts"),
      join(root, "experiments/table7.ts"),
      "--backend",
      "webgpu",
      "--out",
      runs,
      ...(plan.table7Preset ? ["--preset", plan.table7Preset] : []),
    ], limit);
    finish(rec, r);
    let report: string | null = null;
    try {
      report = await Deno.readTextFile(
        join(runs, "table7", "report", "table7.md"),
      );
    } catch {
      report = null;
    }
    rec.results.push({
      kind: "table7",
      preset: plan.table7Preset ?? "default",
      seconds: r.seconds,
      jobsDone: await countFiles(join(runs, "table7"), "done.json"),
      report,
    });
    if (report) log(report);
  }, noGpu);

  report.finished = new Date().toISOString();
  await save();
  for (const l of summary(report)) log(l);
  log(`check.json: ${join(out, "check.json")}`);
  return stages.every((s) =>
      s.status === "ok" || s.reason === "not in --stages"
    )
    ? 0
    : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
