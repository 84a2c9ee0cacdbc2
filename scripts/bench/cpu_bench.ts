/**
 * CPU speed of merba against PyTorch-CPU on the same machine, in one
 * command (`deno task bench:cpu`): the same MERba-small training step
 * (forward, DGCM loss, `tf.variableGrads`, AdamW — as `dsl/train.ts` does
 * it) and eval-mode forward, on the wasm backend with TensorFlow.js' own
 * kernels ("wasm"), with the BLAS kernels of `model/blas` ("wasm+blas",
 * when a BLAS library is found), and in PyTorch 1.13 on CPU (`cpu_torch.py`,
 * run with Debian's `/usr/bin/python3`; the model is the PyTorch
 * re-implementation in `model/testdata/gen_fixtures.py`, its selective scan
 * the reference's `selective_scan_ref` python loop — by default with the
 * time slices taken once by `unbind()`, which keeps its values but avoids
 * the O(L²) backward of the verbatim function; `--torch-scan=ref` runs it
 * verbatim, see `cpu_torch.py`).
 *
 * The sides are interleaved rep by rep (the machine may be shared; the
 * ratios are then still meaningful) after one warm-up each; medians of N
 * reps are printed. Then the three most expensive op groups are timed:
 * convolutions and matmuls by per-kernel profiling of one training step
 * (tfjs: every registered kernel wrapped with a timer, nested kernel calls
 * counted once, in the innermost kernel; PyTorch: `torch.autograd.profiler`
 * self CPU time), and the selective scan as an isolated micro-benchmark,
 * forward and forward+backward, over the scan shapes one training step uses.
 *
 * Usage: deno task bench:cpu [--batch=16] [--reps=5] [--blas-threads=1]
 *   [--torch-threads=<blas-threads>] [--torch-scan=unbind|ref]
 *   [--blas=both|on|off] [--no-torch] [--no-groups] [--size=112] [--verbose]
 *
 * @module
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { dirname, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import * as tf from "@tensorflow/tfjs";
import {
  buildModel,
  initBackend,
  merbaBase,
  type MerModel,
  type ModelConfig,
  selectiveScan,
  validateModelConfig,
} from "../../model/mod.ts";
import {
  blasStatus,
  disableBlasKernels,
  enableBlasKernels,
} from "../../model/blas/mod.ts";
import { AdamW } from "../../dsl/optim.ts";
import { dgcmLoss } from "../../dsl/losses.ts";

const here = dirname(fromFileUrl(import.meta.url));
const { values: opt } = parseArgs({
  args: Deno.args,
  options: {
    batch: { type: "string", default: "16" },
    reps: { type: "string", default: "5" },
    "blas-threads": { type: "string", default: "1" },
    "torch-threads": { type: "string" },
    blas: { type: "string", default: "both" },
    size: { type: "string", default: "112" },
    "no-torch": { type: "boolean", default: false },
    "no-groups": { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    "torch-scan": { type: "string", default: "unbind" },
  },
});
const batch = Number(opt.batch), reps = Number(opt.reps);
const threads = Number(opt["blas-threads"]), size = Number(opt.size);
// equal thread counts by default: wasm is single-threaded, and on the loaded
// 2-core machine PyTorch's default 2 threads ran its forward 35× slower than
// 1 thread (OpenMP regions wait for a preempted thread)
const torchThreads = Number(opt["torch-threads"] ?? threads);
const verbose = opt.verbose!;
for (
  const [k, v] of [
    ["batch", batch],
    ["reps", reps],
    ["blas-threads", threads],
    ["torch-threads", torchThreads],
  ]
) {
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new Error(`--${k} must be a positive integer, got ${v}`);
  }
}
if (!["ref", "unbind"].includes(opt["torch-scan"]!)) {
  throw new Error(
    `--torch-scan must be ref or unbind, got ${opt["torch-scan"]}`,
  );
}
if (!["both", "on", "off"].includes(opt.blas!)) {
  throw new Error(`--blas must be both, on or off, got ${opt.blas}`);
}

const config: ModelConfig = merbaBase({
  inputSize: size,
  dims: [32, 64, 128, 256],
  heads: [1, 2, 4, 8],
  stemDim: 16,
  windowSize: [7, 7, 7, 4],
  dropPath: 0,
  dropout: 0,
});
validateModelConfig(config);

// ---------------------------------------------------------------- tfjs side
const info = await initBackend("wasm");
const probe = enableBlasKernels({ threads });
disableBlasKernels();
const variants: { name: string; blas: boolean }[] = [];
if (opt.blas !== "on") variants.push({ name: "wasm", blas: false });
if (opt.blas !== "off") {
  if (probe) variants.push({ name: "wasm+blas", blas: true });
  else console.log("no BLAS library found: the wasm+blas rows are skipped");
}
function setBlas(on: boolean): void {
  if (on && !blasStatus()) enableBlasKernels({ threads });
  if (!on) disableBlasKernels();
}

const model: MerModel = buildModel(config, 1);
const x = tf.randomUniform(
  [batch, size, size, config.inChannels],
  -1,
  1,
  "float32",
  7,
) as tf.Tensor4D;
const coarseT = Array.from({ length: batch }, (_, i) => i % 4);
const fineT = coarseT.map((c, i) => (c === 0 ? i % 4 : null));
const ALPHA = 0.5;
const optimizer = new AdamW(model.params, {
  lr: 1e-4,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weightDecay: 0.05,
});
const keyOf = new Map([...model.params].map(([k, v]) => [v.name, k]));
const varList = [...model.params.values()];
let dropSeed = 0;

/** Wall and process CPU milliseconds of one call. */
interface Timing {
  ms: number;
  cpu: number;
}

/** Process CPU time (user + system, all threads) in ms. */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** One training step exactly as dsl/train.ts runs it. */
async function trainStep(): Promise<Timing> {
  const t = performance.now(), c = cpuNow();
  const { value, grads } = tf.variableGrads(() => {
    const out = model.apply(x, { training: true, seed: ++dropSeed });
    return dgcmLoss(out.coarse!, out.fine!, coarseT, fineT, ALPHA);
  }, varList);
  const named = new Map<string, tf.Tensor>();
  for (const [n, g] of Object.entries(grads)) named.set(keyOf.get(n)!, g);
  optimizer.step(named);
  const loss = (await value.data())[0];
  tf.dispose([value, ...Object.values(grads)]);
  if (!Number.isFinite(loss)) throw new Error(`loss became ${loss}`);
  return { ms: performance.now() - t, cpu: cpuNow() - c };
}

async function forward(): Promise<Timing> {
  const t = performance.now(), c = cpuNow();
  const out = model.apply(x, { training: false });
  await out.coarse!.data();
  tf.dispose([out.coarse!, out.fine!]);
  return { ms: performance.now() - t, cpu: cpuNow() - c };
}

// --------------------------------------------------------------- torch side
class Torch {
  #proc: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;
  ready: Record<string, unknown> = {};
  constructor(cfgPath: string) {
    this.#proc = new Deno.Command("/usr/bin/python3", {
      args: [
        join(here, "cpu_torch.py"),
        cfgPath,
        String(batch),
        String(torchThreads),
        opt["torch-scan"]!,
      ],
      // torch.set_num_threads does not reach the OpenBLAS inside Debian's
      // torch (its matmuls ran on 2 threads at set_num_threads(1)): pin it
      env: {
        OPENBLAS_NUM_THREADS: String(torchThreads),
        OMP_NUM_THREADS: String(torchThreads),
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    this.#lines = lineReader(this.#proc.stdout);
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
    if (r.done) throw new Error("cpu_torch.py exited early (see its stderr)");
    const o = JSON.parse(r.value);
    if (o.error) throw new Error(`cpu_torch.py: ${o.error}`);
    return o;
  }
  async close(): Promise<void> {
    await this.#writer.write(new TextEncoder().encode('{"cmd":"quit"}\n'));
    await this.#writer.close();
    await this.#proc.status;
  }
}

async function* lineReader(stream: ReadableStream<Uint8Array>) {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, i);
      buf = buf.slice(i + 1);
    }
  }
}

let torch: Torch | null = null;
if (!opt["no-torch"]) {
  try {
    await Deno.stat("/usr/bin/python3");
    const cfgPath = await Deno.makeTempFile({ suffix: ".json" });
    await Deno.writeTextFile(cfgPath, JSON.stringify(config));
    torch = new Torch(cfgPath);
    torch.ready = await torch.read();
  } catch (e) {
    console.log(`PyTorch side unavailable: ${(e as Error).message}`);
    torch = null;
  }
}

// ------------------------------------------------------------------- timing
const median = (a: number[]) => {
  const s = [...a].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function interleaved(
  tfjsFn: () => Promise<Timing>,
  torchCmd: string,
): Promise<Map<string, Timing>> {
  const times = new Map<string, Timing[]>();
  const push = (k: string, v: Timing) =>
    times.set(k, [...(times.get(k) ?? []), v]);
  for (let r = -1; r < reps; r++) { // r = -1: warm-up
    const row: string[] = [];
    for (const v of variants) {
      setBlas(v.blas);
      const tm = await tfjsFn();
      if (r >= 0) push(v.name, tm);
      row.push(`${v.name} ${tm.ms.toFixed(0)}`);
    }
    if (torch) {
      const o = await torch.request({ cmd: torchCmd });
      const tm = { ms: o.ms as number, cpu: o.cpu_ms as number };
      if (r >= 0) push("torch", tm);
      row.push(`torch ${tm.ms.toFixed(0)}`);
    }
    if (verbose) {
      console.log(
        `  ${torchCmd} ${r < 0 ? "warm-up" : `rep ${r + 1}`}: ${
          row.join(", ")
        } ms`,
      );
    }
  }
  return new Map(
    [...times].map((
      [k, v],
    ) => [k, {
      ms: median(v.map((t) => t.ms)),
      cpu: median(v.map((t) => t.cpu)),
    }]),
  );
}

function report(title: string, med: Map<string, Timing>): void {
  console.log(
    `\n${title} (batch ${batch}, median of ${reps}; ratio = our throughput / PyTorch's)`,
  );
  const t = med.get("torch");
  for (const [k, tm] of med) {
    const sps = (batch * 1000) / tm.ms;
    const ratio = t && k !== "torch"
      ? `  ${(t.ms / tm.ms).toFixed(3)}× PyTorch (by CPU time ${
        (t.cpu / tm.cpu).toFixed(3)
      }×)`
      : "";
    console.log(
      `  ${k.padEnd(10)} ${tm.ms.toFixed(1).padStart(9)} ms  ${
        sps.toFixed(2).padStart(8)
      } samples/s  CPU ${tm.cpu.toFixed(0).padStart(7)} ms${ratio}`,
    );
  }
}

console.log(
  `MERba-small: input ${size}×${size}×${config.inChannels}, dims [${config.dims}], depths [${config.depths}], windows [${config.windowSize}], batch ${batch}; ${
    countParams(model)
  } parameters`,
);
console.log(
  `tfjs ${tf.version.tfjs} ${info.name} (simd ${info.simd}, threads ${info.threads}); BLAS: ${
    probe ? `${probe.config || probe.path} (${probe.threads} threads)` : "none"
  }; torch: ${
    torch
      ? `${torch.ready.torch} (${torch.ready.threads} threads, ${torch.ready.params} parameters, scan ${torch.ready.scan})`
      : "off"
  }`,
);
console.log(
  `load average at start: ${
    Deno.loadavg().map((v) => v.toFixed(1)).join(" ")
  } on ${navigator.hardwareConcurrency} cores`,
);

report("training step", await interleaved(trainStep, "train"));
report("forward (eval, no grad)", await interleaved(forward, "forward"));

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
  for (const c of configs) {
    tf.unregisterKernel(c.kernelName, backendName);
    tf.registerKernel({
      ...c,
      kernelFunc: (args) => {
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

await torch?.close();
console.log(
  `\nnote: timings are wall clock on a machine that may be shared (load average now ${
    Deno.loadavg().map((v) => v.toFixed(1)).join(" ")
  }); the sides ran interleaved, so compare the ratios.`,
);
