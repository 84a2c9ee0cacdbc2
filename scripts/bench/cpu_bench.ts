/**
 * CPU speed of merba against PyTorch-CPU on the same machine, in one
 * command (`deno task bench:cpu`): the same MERba-small training step
 * (forward, DGCM loss, `tf.variableGrads`, AdamW — as `train/train.ts` does
 * it) and eval-mode forward, on every CPU kernel set at 1 and at 2 threads:
 *
 * - `tensorflow`: libtensorflow through tfjs-node (`deno task
 *   setup:tensorflow`), N intra-op threads;
 * - `wasm`: the wasm backend with TensorFlow.js' own kernels (single-threaded
 *   under Deno, so only at 1 thread);
 * - `wasm+blas`: the same with the BLAS kernels of `model/backend/blas` (OpenBLAS
 *   sgemm with N threads), when a BLAS library is found;
 * - `torch`: PyTorch on CPU (`cpu_torch.py`, with N threads; the model is
 *   the PyTorch re-implementation in `model/testdata/gen_fixtures.py`, its
 *   selective scan the reference's `selective_scan_ref` python loop — by
 *   default with the time slices taken once by `unbind()`, which keeps its
 *   values but avoids the O(L²) backward of the verbatim function;
 *   `--torch-scan=ref` runs it verbatim, see `cpu_torch.py`).
 *
 * Each side runs in its own process (`cpu_worker.ts`; libtensorflow fixes
 * its thread count per process), and the sides are interleaved rep by rep
 * (the machine may be shared; the ratios are then still meaningful) after
 * one warm-up each; medians of N reps are printed with the achieved
 * GFLOP/s of the step's convolutions and matmuls (their FLOPs counted from
 * the kernels' shapes in one profiled step) next to the machine's peak: the
 * fastest large sgemm (2048³) any side reaches at that thread count.
 *
 * Then (not with `--no-groups`) the three most expensive op groups on wasm
 * are timed: convolutions and matmuls by per-kernel profiling of one
 * training step (tfjs: every registered kernel wrapped with a timer, nested
 * kernel calls counted once, in the innermost kernel; PyTorch:
 * `torch.autograd.profiler` self CPU time), and the selective scan as an
 * isolated micro-benchmark, forward and forward+backward, over the scan
 * shapes one training step uses.
 *
 * Usage: deno task bench:cpu [--batch=16] [--reps=5] [--threads=1,2]
 *   [--sides=tensorflow,wasm,wasm+blas,torch] [--python=PATH]
 *   [--torch-scan=unbind|ref] [--size=112] [--no-groups] [--verbose]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { initBackend, type MerModel, selectiveScan } from "../../model/mod.ts";
import {
  blasStatus,
  disableBlasKernels,
  enableBlasKernels,
} from "../../model/backend/blas/mod.ts";
import {
  lineReader,
  merbaSmallConfig,
  merbaSmallWorkload,
  type Timing,
} from "./merba_small.ts";

const here = dirname(fromFileUrl(import.meta.url));
const { values: opt } = parseArgs({
  args: Deno.args,
  options: {
    batch: { type: "string", default: "16" },
    reps: { type: "string", default: "5" },
    threads: { type: "string", default: "1,2" },
    sides: { type: "string", default: "tensorflow,wasm,wasm+blas,torch" },
    python: { type: "string" },
    size: { type: "string", default: "112" },
    "no-groups": { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    "torch-scan": { type: "string", default: "unbind" },
  },
});
const batch = Number(opt.batch), reps = Number(opt.reps);
const size = Number(opt.size);
const threadList = opt.threads!.split(",").map(Number);
const verbose = opt.verbose!;
for (
  const [k, v] of [
    ["batch", batch],
    ["reps", reps],
    ...threadList.map((t) => ["threads", t]),
  ]
) {
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new Error(`--${k} must be positive integers, got ${v}`);
  }
}
if (!["ref", "unbind"].includes(opt["torch-scan"]!)) {
  throw new Error(
    `--torch-scan must be ref or unbind, got ${opt["torch-scan"]}`,
  );
}
const SIDES = ["tensorflow", "wasm", "wasm+blas", "torch"];
const sideNames = opt.sides!.split(",");
for (const s of sideNames) {
  if (!SIDES.includes(s)) {
    throw new Error(`--sides: ${s} is not one of ${SIDES.join(", ")}`);
  }
}

const config = merbaSmallConfig(size);

/** A benchmark side in its own process, answering JSON-line requests. */
class Side {
  #proc: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;
  ready: Record<string, unknown> = {};
  constructor(
    readonly name: string,
    readonly threads: number,
    cmd: string,
    args: string[],
    env: Record<string, string> = {},
  ) {
    this.#proc = new Deno.Command(cmd, {
      args,
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: verbose ? "inherit" : "null",
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    this.#lines = lineReader(this.#proc.stdout);
  }
  /** `name@threads`. */
  get label(): string {
    return `${this.name}@${this.threads}`;
  }
  async request(
    req: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    await this.#writer.write(
      new TextEncoder().encode(JSON.stringify(req) + "\n"),
    );
    return await this.read();
  }
  async read(): Promise<Record<string, unknown>> {
    const r = await this.#lines.next();
    if (r.done) {
      throw new Error(
        `${this.label} exited early (--verbose shows its stderr)`,
      );
    }
    const o = JSON.parse(r.value);
    if (o.error) throw new Error(`${this.label}: ${o.error}`);
    return o;
  }
  async close(): Promise<void> {
    try {
      await this.#writer.write(new TextEncoder().encode('{"cmd":"quit"}\n'));
      await this.#writer.close();
    } catch {
      // already gone
    }
    await this.#proc.status;
  }
}

/** A python3 that imports torch: --python, Debian's, or the one on PATH. */
async function torchPython(): Promise<string | null> {
  for (const p of opt.python ? [opt.python] : ["/usr/bin/python3", "python3"]) {
    try {
      const r = await new Deno.Command(p, {
        args: ["-c", "import torch"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (r.success) return p;
    } catch {
      // not there
    }
  }
  return null;
}

const cfgPath = await Deno.makeTempFile({ suffix: ".json" });
await Deno.writeTextFile(cfgPath, JSON.stringify(config));
const python = sideNames.includes("torch") ? await torchPython() : null;
if (sideNames.includes("torch") && !python) {
  console.log(
    "torch side skipped: no python3 with torch (--python=PATH names one)",
  );
}

const sides: Side[] = [];
const unavailable = new Set<string>();
for (const threads of threadList) {
  for (const name of sideNames) {
    if (unavailable.has(name)) continue;
    if (name === "wasm" && threads !== 1) continue; // single-threaded
    let side: Side;
    if (name === "torch") {
      if (!python) continue;
      side = new Side(name, threads, python, [
        join(here, "cpu_torch.py"),
        cfgPath,
        String(batch),
        String(threads),
        opt["torch-scan"]!,
      ], {
        // torch.set_num_threads does not reach the OpenBLAS inside Debian's
        // torch (its matmuls ran on 2 threads at set_num_threads(1)): pin it
        OPENBLAS_NUM_THREADS: String(threads),
        OMP_NUM_THREADS: String(threads),
      });
    } else {
      side = new Side(name, threads, Deno.execPath(), [
        "run",
        "-A",
        join(here, "cpu_worker.ts"),
        name,
        String(threads),
        String(batch),
        String(size),
      ]);
    }
    try {
      side.ready = await side.read();
      sides.push(side);
    } catch (e) {
      console.log(`${side.label} unavailable: ${(e as Error).message}`);
      await side.close();
      unavailable.add(name);
    }
  }
}

// ------------------------------------------------------------------- timing
const median = (a: number[]) => {
  const s = [...a].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function interleaved(cmd: string): Promise<Map<Side, Timing>> {
  const times = new Map<Side, Timing[]>();
  for (let r = -1; r < reps; r++) { // r = -1: warm-up
    const row: string[] = [];
    for (const side of sides) {
      const o = await side.request({ cmd });
      const tm = { ms: o.ms as number, cpu: o.cpu_ms as number };
      if (r >= 0) times.set(side, [...(times.get(side) ?? []), tm]);
      row.push(`${side.label} ${tm.ms.toFixed(0)}`);
    }
    if (verbose) {
      console.log(
        `  ${cmd} ${r < 0 ? "warm-up" : `rep ${r + 1}`}: ${row.join(", ")} ms`,
      );
    }
  }
  return new Map(
    [...times].map(([k, v]) => [k, {
      ms: median(v.map((t) => t.ms)),
      cpu: median(v.map((t) => t.cpu)),
    }]),
  );
}

// ------------------------------------------------- FLOPs of the dense ops
/** Forward-equivalent FLOPs of one conv or matmul kernel call, else 0. */
function kernelFlops(
  name: string,
  named: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): number {
  const inputs = named as Record<string, tf.TensorInfo>;
  const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);
  if (name === "Conv2D" || name === "DepthwiseConv2dNative") {
    const x = inputs.x.shape, f = inputs.filter.shape;
    const info = tf.backend_util.computeConv2DInfo(
      x as [number, number, number, number],
      f as [number, number, number, number],
      attrs.strides as [number, number],
      (attrs.dilations ?? 1) as [number, number],
      attrs.pad as "same",
      undefined,
      name !== "Conv2D",
    );
    return 2 * prod(info.outShape) * f[0] * f[1] *
      (name === "Conv2D" ? f[2] : 1);
  }
  if (/^(Conv2DBackprop|DepthwiseConv2dNativeBackprop)/.test(name)) {
    const dy = inputs.dy.shape;
    const f = (inputs.filter?.shape ?? attrs.filterShape) as number[];
    return 2 * prod(dy) * f[0] * f[1] *
      (name.startsWith("Conv2D") ? f[2] : 1);
  }
  if (name === "BatchMatMul" || name === "_FusedMatMul") {
    const a = inputs.a.shape, b = inputs.b.shape;
    const m = attrs.transposeA ? a[a.length - 1] : a[a.length - 2];
    const k = attrs.transposeA ? a[a.length - 2] : a[a.length - 1];
    const n = attrs.transposeB ? b[b.length - 2] : b[b.length - 1];
    const batchA = prod(a.slice(0, -2)), batchB = prod(b.slice(0, -2));
    return 2 * Math.max(batchA, batchB) * m * n * k;
  }
  return 0;
}

// ------------------------------------------- in-process wasm (FLOPs, groups)
const info = await initBackend("wasm");
const probe = enableBlasKernels({ threads: 1 });
disableBlasKernels();
const variants: { name: string; blas: boolean }[] = [
  { name: "wasm", blas: false },
  ...(probe ? [{ name: "wasm+blas", blas: true }] : []),
];
function setBlas(on: boolean): void {
  if (on && !blasStatus()) enableBlasKernels({ threads: 1 });
  if (!on) disableBlasKernels();
}
const work = merbaSmallWorkload(config, batch);
const model: MerModel = work.model;
const trainStep = work.trainStep;

/** Conv and matmul FLOPs of one call of `fn` (wasm kernels, BLAS off). */
async function countFlops(fn: () => Promise<Timing>): Promise<number> {
  setBlas(false);
  await fn();
  const ins = instrument("wasm");
  try {
    await fn();
  } finally {
    ins.restore();
  }
  return ins.flops.value;
}
const flops = {
  train: await countFlops(work.trainStep),
  forward: await countFlops(work.forward),
};

/** The fastest 2048³ sgemm any side reaches, per thread count. */
const peak = new Map<number, { gflops: number; by: string }>();
for (const side of sides) {
  if (side.name === "torch" || side.name === "wasm") continue;
  const g = (await side.request({ cmd: "peak", n: 2048 })).gflops as number;
  if (g > (peak.get(side.threads)?.gflops ?? 0)) {
    peak.set(side.threads, { gflops: g, by: side.label });
  }
}

function report(
  title: string,
  med: Map<Side, Timing>,
  stepFlops: number,
): void {
  console.log(
    `\n${title} (batch ${batch}, median of ${reps}; ${
      (stepFlops / 1e9).toFixed(1)
    } GFLOP of convs and matmuls per call; ratio = our throughput / PyTorch's at the same threads)`,
  );
  const torchAt = (t: number) =>
    [...med].find(([s]) => s.name === "torch" && s.threads === t)?.[1];
  for (const [side, tm] of med) {
    const sps = (batch * 1000) / tm.ms;
    const gf = stepFlops / (tm.ms * 1e6);
    const p = peak.get(side.threads);
    const t = torchAt(side.threads);
    const ratio = t && side.name !== "torch"
      ? `  ${(t.ms / tm.ms).toFixed(3)}× PyTorch (by CPU time ${
        (t.cpu / tm.cpu).toFixed(3)
      }×)`
      : "";
    console.log(
      `  ${side.label.padEnd(14)} ${tm.ms.toFixed(1).padStart(9)} ms  ${
        sps.toFixed(2).padStart(7)
      } samples/s  CPU ${tm.cpu.toFixed(0).padStart(7)} ms  ${
        gf.toFixed(1).padStart(5)
      } GFLOP/s${
        p ? ` (${((100 * gf) / p.gflops).toFixed(0)}% of peak)` : ""
      }${ratio}`,
    );
  }
  const ours = [...med].filter(([s]) => s.name !== "torch");
  const theirs = [...med].filter(([s]) => s.name === "torch");
  if (ours.length && theirs.length) {
    const best = (xs: [Side, Timing][]) =>
      xs.reduce((a, b) => (b[1].ms < a[1].ms ? b : a));
    const [os, ot] = best(ours), [ts, tt] = best(theirs);
    console.log(
      `  best against best: ${os.label} ${
        ((batch * 1000) / ot.ms).toFixed(2)
      } samples/s vs ${ts.label} ${
        ((batch * 1000) / tt.ms).toFixed(2)
      } samples/s: ${(tt.ms / ot.ms).toFixed(3)}× PyTorch`,
    );
  }
}

console.log(
  `MERba-small: input ${size}×${size}×${config.inChannels}, dims [${config.dims}], depths [${config.depths}], windows [${config.windowSize}], batch ${batch}; ${
    countParams(model)
  } parameters`,
);
for (const side of sides) {
  const b = side.ready.backend as
    | {
      name: string;
      versions: Record<string, string>;
      blas: { threads: number } | null;
    }
    | undefined;
  console.log(
    `  ${side.label}: ${
      side.name === "torch"
        ? `torch ${side.ready.torch} (${side.ready.params} parameters, scan ${side.ready.scan})`
        : `tfjs ${b?.versions.tfjs} ${b?.name}${
          b?.versions.libtensorflow
            ? ` (libtensorflow ${b.versions.libtensorflow})`
            : ""
        }${b?.blas ? ` + OpenBLAS sgemm (${b.blas.threads} threads)` : ""}`
    }`,
  );
}
console.log(
  `peak (largest 2048³ sgemm): ${
    [...peak].map(([t, p]) =>
      `${p.gflops.toFixed(1)} GFLOP/s at ${t} thread${
        t === 1 ? "" : "s"
      } (${p.by})`
    ).join(", ") || "not measured"
  }; tfjs ${tf.version.tfjs} in-process ${info.name} for FLOP counting`,
);
console.log(
  `load average at start: ${
    Deno.loadavg().map((v) => v.toFixed(1)).join(" ")
  } on ${navigator.hardwareConcurrency} cores`,
);

report("training step", await interleaved("train"), flops.train);
report("forward (eval, no grad)", await interleaved("forward"), flops.forward);

function countParams(m: MerModel): number {
  let n = 0;
  for (const v of m.params.values()) n += v.size;
  return n;
}

// ------------------------------------------------------------------- groups
interface KernelTime {
  ms: number;
  calls: number;
}

/** Wraps every wasm kernel with a timer (exclusive of nested kernels). */
function instrument(backendName: string) {
  const configs = tf.getKernelsForBackend(backendName);
  const times = new Map<string, KernelTime>();
  const scanShapes: number[][] = [];
  const stack: number[] = [];
  const flops = { value: 0 };
  for (const c of configs) {
    tf.unregisterKernel(c.kernelName, backendName);
    tf.registerKernel({
      ...c,
      kernelFunc: (args) => {
        // FLOPs of the outermost kernel only (provided kernels call others)
        if (stack.length === 0) {
          flops.value += kernelFlops(c.kernelName, args.inputs, args.attrs);
        }
        stack.push(0);
        const t0 = performance.now();
        try {
          return c.kernelFunc(args);
        } finally {
          const dt = performance.now() - t0;
          const child = stack.pop()!;
          if (stack.length) stack[stack.length - 1] += dt;
          const k = times.get(c.kernelName) ?? { ms: 0, calls: 0 };
          k.ms += dt - child;
          k.calls++;
          times.set(c.kernelName, k);
          if (c.kernelName === "MerbaSelectiveScan") {
            const u = args.inputs.u, a = args.inputs.A;
            if (u && a) {
              scanShapes.push([u.shape[0], u.shape[1], u.shape[2], a.shape[1]]);
            }
          }
        }
      },
    });
  }
  return {
    times,
    scanShapes,
    flops,
    restore() {
      for (const c of configs) {
        tf.unregisterKernel(c.kernelName, backendName);
        tf.registerKernel(c);
      }
    },
  };
}

const CONV = /conv/i;
const MATMUL = /^(BatchMatMul|_FusedMatMul|MatMul)$/;

// the PyTorch side at 1 thread answers the profile and scan requests
const torch = sides.find((s) => s.name === "torch" && s.threads === 1) ??
  null;
if (!opt["no-groups"]) {
  let scanShapes: number[][] = [];
  const groups = new Map<string, Record<string, number>>();
  for (const v of variants) {
    setBlas(v.blas);
    await trainStep(); // warm
    const ins = instrument("wasm");
    const t = performance.now();
    try {
      await trainStep();
    } finally {
      ins.restore();
    }
    const total = performance.now() - t;
    let conv = 0, mm = 0, scan = 0;
    for (const [k, kt] of ins.times) {
      if (CONV.test(k)) conv += kt.ms;
      else if (MATMUL.test(k)) mm += kt.ms;
      else if (k.startsWith("MerbaSelectiveScan")) scan += kt.ms;
    }
    groups.set(v.name, { conv, matmul: mm, scanKernels: scan, total });
    scanShapes = ins.scanShapes;
    const top = [...ins.times].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10);
    console.log(
      `\n${v.name}: profiled training step ${
        total.toFixed(0)
      } ms; top kernels: ${
        top.map(([k, kt]) => `${k} ${kt.ms.toFixed(0)} ms/${kt.calls}`).join(
          ", ",
        )
      }`,
    );
  }
  if (torch) {
    const p = await torch.request({ cmd: "profile" });
    groups.set("torch", {
      conv: p.conv_ms as number,
      matmul: p.matmul_ms as number,
      total: p.total_ms as number,
    });
    console.log(
      `torch: its mixers' depthwise conv1d took ${
        (p.conv1d_ms as number).toFixed(0)
      } ms (on the tfjs side it is shifted products, not a conv kernel; left out of the convolutions group)`,
    );
    console.log(
      `torch: profiled training step ${
        (p.total_ms as number).toFixed(0)
      } ms; top ops: ${
        (p.top as [string, number][]).map(([k, ms]) =>
          `${k} ${ms.toFixed(0)} ms`
        ).join(", ")
      }`,
    );
  }
  // scan micro-benchmark over the shapes one step uses
  const scanMs = new Map<string, { fwd: number; fwdbwd: number }>();
  if (scanShapes.length) {
    setBlas(false);
    scanMs.set("wasm", timeScan(scanShapes));
    if (torch) {
      const s = await torch.request({ cmd: "scan", shapes: scanShapes, reps });
      scanMs.set("torch", {
        fwd: s.fwd_ms as number,
        fwdbwd: s.fwdbwd_ms as number,
      });
    }
  }
  const t = groups.get("torch");
  console.log(
    `\nop groups, ms per training step (convs and matmuls: profiled; ratio = PyTorch time / ours)`,
  );
  for (const [k, g] of groups) {
    const r = (
      a: number,
      b?: number,
    ) => (b !== undefined && k !== "torch" ? ` (${(b / a).toFixed(2)}×)` : "");
    console.log(
      `  ${k.padEnd(10)} convolutions ${g.conv.toFixed(0).padStart(6)}${
        r(g.conv, t?.conv)
      }   matmuls ${g.matmul.toFixed(0).padStart(6)}${
        r(g.matmul, t?.matmul)
      }   profiled step ${g.total.toFixed(0)}`,
    );
  }
  const uniq = new Set(scanShapes.map((s) => s.join("×")));
  console.log(
    `selective scan micro-benchmark (${scanShapes.length} scans per step, shapes B×L×D×N ${
      [...uniq].join(", ")
    }; median of ${reps}):`,
  );
  const ts = scanMs.get("torch");
  for (const [k, s] of scanMs) {
    const r = (
      a: number,
      b?: number,
    ) => (b !== undefined && k !== "torch" ? ` (${(b / a).toFixed(2)}×)` : "");
    console.log(
      `  ${k.padEnd(10)} forward ${s.fwd.toFixed(1)} ms${
        r(s.fwd, ts?.fwd)
      }   forward+backward ${s.fwdbwd.toFixed(1)} ms${r(s.fwdbwd, ts?.fwdbwd)}`,
    );
  }
}

function timeScan(shapes: number[][]): { fwd: number; fwdbwd: number } {
  const cases = shapes.map(([b, l, d, n], i) => {
    const s = 100 + i * 10;
    return [
      tf.randomNormal([b, l, d], 0, 1, "float32", s),
      tf.randomNormal([b, l, d], 0, 0.5, "float32", s + 1),
      tf.neg(tf.exp(tf.randomUniform([d, n], 0, 1, "float32", s + 2))),
      tf.randomNormal([b, l, n], 0, 1, "float32", s + 3),
      tf.randomNormal([b, l, n], 0, 1, "float32", s + 4),
      tf.randomNormal([d], 0, 1, "float32", s + 5),
      tf.randomNormal([d], 0, 0.1, "float32", s + 6),
    ] as tf.Tensor[];
  });
  const run = (c: tf.Tensor[]) =>
    selectiveScan({
      u: c[0] as tf.Tensor3D,
      delta: c[1] as tf.Tensor3D,
      A: c[2] as tf.Tensor2D,
      B: c[3] as tf.Tensor3D,
      C: c[4] as tf.Tensor3D,
      D: c[5] as tf.Tensor1D,
      deltaBias: c[6] as tf.Tensor1D,
    });
  const fwd = () => {
    const t = performance.now();
    for (const c of cases) {
      const y = run(c);
      y.dataSync();
      y.dispose();
    }
    return performance.now() - t;
  };
  const g = tf.grads((...xs: tf.Tensor[]) => run(xs).sum());
  const fwdbwd = () => {
    const t = performance.now();
    for (const c of cases) {
      const gs = g(c);
      gs[0].dataSync();
      tf.dispose(gs);
    }
    return performance.now() - t;
  };
  fwd();
  fwdbwd();
  const res = {
    fwd: median(Array.from({ length: reps }, fwd)),
    fwdbwd: median(Array.from({ length: reps }, fwdbwd)),
  };
  tf.dispose(cases.flat());
  return res;
}

for (const side of sides) await side.close();
await Deno.remove(cfgPath);
console.log(
  `\nnote: timings are wall clock on a machine that may be shared (load average now ${
    Deno.loadavg().map((v) => v.toFixed(1)).join(" ")
  }); the sides ran interleaved, so compare the ratios.`,
);
