/**
 * Benchmark of the selective scan at MERba's window size on the wasm
 * backend: the fused kernel (`selectiveScan`) against two tensor-op
 * formulations (the reference loop, and a loop with the decay and input
 * terms hoisted out as bulk ops), forward and forward+backward (gradients of
 * all 7 inputs), and, when Debian's `/usr/bin/python3` has torch, PyTorch's
 * op loop (`selective_scan_torch.py`) in the same command.
 *
 * Usage: deno run -A scripts/bench/selective_scan_bench.ts [B L D N] [--reps=R]
 * [--webgpu] (defaults: 64 49 64 16, R = 10; B = windows × batch).
 * `--webgpu` also times the WGSL kernels against the reference loop on the
 * webgpu backend (wall time, 3 runs).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { type ScanInputs, selectiveScan } from "../../model/selective_scan.ts";
import { selectiveScanRef } from "../../model/selective_scan_ref.ts";
import { registerScanKernels } from "../../model/backend/ssm/register.ts";

registerScanKernels();

type Scan = (x: ScanInputs, deltaSoftplus?: boolean) => tf.Tensor3D;
const NAMES = ["u", "delta", "A", "B", "C", "D", "deltaBias"] as const;

/**
 * Tensor-op scan with the decay exp(Δ⊗A) and input term Δ·B·u computed in
 * bulk ([B,L,D,N] each) and only the recurrence and readout in the loop.
 */
export function selectiveScanHoisted(
  x: ScanInputs,
  deltaSoftplus = true,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, , dim] = x.u.shape;
    const n = x.A.shape[1];
    let delta: tf.Tensor3D = tf.add(x.delta, x.deltaBias);
    if (deltaSoftplus) delta = tf.softplus(delta);
    const d4 = tf.expandDims(delta, 3); // [B,L,D,1]
    const decay = tf.unstack(tf.exp(tf.mul(d4, x.A)), 1); // L × [B,D,N]
    const input = tf.unstack(
      tf.mul(tf.mul(d4, tf.expandDims(x.u, 3)), tf.expandDims(x.B, 2)),
      1,
    );
    let h: tf.Tensor = tf.zeros([batch, dim, n]);
    const hs: tf.Tensor[] = [];
    for (let t = 0; t < decay.length; t++) {
      h = tf.add(tf.mul(decay[t], h), input[t]);
      hs.push(h);
    }
    const y = tf.sum(tf.mul(tf.stack(hs, 1), tf.expandDims(x.C, 2)), 3);
    return tf.add(y, tf.mul(x.u, x.D)) as tf.Tensor3D;
  });
}

function seededInputs(
  b: number,
  l: number,
  d: number,
  n: number,
): ScanInputs {
  const r = (shape: number[], seed: number, scale = 1) =>
    tf.randomUniform(shape, -scale, scale, "float32", seed);
  return {
    u: r([b, l, d], 1) as tf.Tensor3D,
    delta: r([b, l, d], 2, 2) as tf.Tensor3D,
    A: tf.neg(tf.exp(r([d, n], 3, 1.5))) as tf.Tensor2D,
    B: r([b, l, n], 4) as tf.Tensor3D,
    C: r([b, l, n], 5) as tf.Tensor3D,
    D: r([d], 6) as tf.Tensor1D,
    deltaBias: r([d], 7) as tf.Tensor1D,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
}

/** Median wall-clock and process-CPU milliseconds of `run` (after 2 warm-ups). */
interface Timing {
  /** median wall-clock ms. */
  wall: number;
  /** median process CPU ms (user + system): robust to a loaded machine. */
  cpu: number;
}

function timeIt(run: () => void, reps: number): Timing {
  run();
  run();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    run();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

function timeFwd(scan: Scan, x: ScanInputs, reps: number): Timing {
  return timeIt(() => {
    const y = scan(x);
    y.dataSync();
    y.dispose();
  }, reps);
}

function timeFwdBwd(
  scan: Scan,
  x: ScanInputs,
  w: tf.Tensor,
  reps: number,
): Timing {
  const f = tf.grads((...args: tf.Tensor[]) => {
    const named = {} as Record<string, tf.Tensor>;
    NAMES.forEach((k, i) => named[k] = args[i]);
    return tf.sum(tf.mul(scan(named as unknown as ScanInputs), w));
  });
  return timeIt(() => {
    const gs = f(NAMES.map((k) => x[k]));
    gs.forEach((g) => g.dataSync());
    tf.dispose(gs);
  }, reps);
}

async function torchTimes(
  dims: number[],
  reps: number,
): Promise<
  {
    fwd_ms: number;
    fwdbwd_ms: number;
    fwd_cpu_ms: number;
    fwdbwd_cpu_ms: number;
    torch: string;
    threads: number;
  } | string
> {
  const py = "/usr/bin/python3";
  try {
    const check = await new Deno.Command(py, {
      args: ["-c", "import torch"],
      stdout: "null",
      stderr: "null",
    }).output();
    if (!check.success) return `${py} has no torch`;
  } catch {
    return `${py} not found`;
  }
  const script = fileURLToPath(
    new URL("./selective_scan_torch.py", import.meta.url),
  );
  const out = await new Deno.Command(py, {
    args: [script, ...dims.map(String), String(reps)],
  }).output();
  if (!out.success) {
    return `torch benchmark failed: ${new TextDecoder().decode(out.stderr)}`;
  }
  return JSON.parse(new TextDecoder().decode(out.stdout).trim());
}

if (import.meta.main) {
  const positional = Deno.args.filter((a) => !a.startsWith("--"));
  const repsArg = Deno.args.find((a) => a.startsWith("--reps="));
  const reps = repsArg ? Number(repsArg.slice(7)) : 10;
  const dims = positional.length === 4
    ? positional.map(Number)
    : [64, 49, 64, 16];
  if (dims.some((v) => !Number.isInteger(v) || v <= 0) || !(reps > 0)) {
    throw new Error(
      `selective_scan_bench: sizes must be 4 positive integers B L D N and --reps positive, got ${
        Deno.args.join(" ")
      }`,
    );
  }
  const [b, l, d, n] = dims;
  setWasmPaths(
    dirname(
      fileURLToPath(import.meta.resolve("@tensorflow/tfjs-backend-wasm")),
    ) +
      "/",
  );
  await tf.setBackend("wasm");
  await tf.ready();
  const x = seededInputs(b, l, d, n);
  const w = tf.randomUniform([b, l, d], -1, 1, "float32", 8);
  console.log(
    `selective scan B=${b} L=${l} D=${d} N=${n}, backend ${tf.getBackend()} (single-threaded), median of ${reps}.\n` +
      `The machine is shared with other jobs (loaded): wall times are noisy; ` +
      `process CPU times (user+sys) are the steadier comparison.`,
  );
  const rows: [string, Timing, Timing][] = [];
  for (
    const [name, scan] of [
      ["tensor ops: reference loop", selectiveScanRef],
      ["tensor ops: hoisted decay/input", selectiveScanHoisted],
      ["fused kernel", selectiveScan],
    ] as [string, Scan][]
  ) {
    rows.push([name, timeFwd(scan, x, reps), timeFwdBwd(scan, x, w, reps)]);
  }
  const torch = await torchTimes(dims, Math.max(reps, 10));
  if (typeof torch !== "string") {
    rows.push([
      `PyTorch ${torch.torch} op loop (${torch.threads} thr)`,
      { wall: torch.fwd_ms, cpu: torch.fwd_cpu_ms },
      { wall: torch.fwdbwd_ms, cpu: torch.fwdbwd_cpu_ms },
    ]);
  }
  const fused = rows[2];
  const bestOps = rows[0][2].cpu <= rows[1][2].cpu ? rows[0] : rows[1];
  const f = (v: number) => v.toFixed(2).padStart(10);
  console.log(
    `${"formulation (median ms)".padEnd(40)}${"fwd wall".padStart(10)}${
      "fwd cpu".padStart(10)
    }${"f+b wall".padStart(10)}${"f+b cpu".padStart(10)}`,
  );
  for (const [name, fw, fb] of rows) {
    console.log(
      `${name.padEnd(40)}${f(fw.wall)}${f(fw.cpu)}${f(fb.wall)}${f(fb.cpu)}`,
    );
  }
  if (typeof torch === "string") {
    console.log(`PyTorch op loop: skipped (${torch})`);
  }
  const ratio = (a: Timing, b: Timing) =>
    `${(a.wall / b.wall).toFixed(1)}x wall, ${(a.cpu / b.cpu).toFixed(1)}x cpu`;
  console.log(
    `fused vs best tensor ops (${bestOps[0]}): fwd ${
      ratio(bestOps[1], fused[1])
    }; fwd+bwd ${ratio(bestOps[2], fused[2])}`,
  );
  if (typeof torch !== "string") {
    const t = rows[3];
    console.log(
      `fused vs PyTorch (torch time / fused time, >1 = fused faster): fwd ${
        ratio(t[1], fused[1])
      }; fwd+bwd ${ratio(t[2], fused[2])}`,
    );
  }
  tf.dispose([w, ...Object.values(x)]);
  if (Deno.args.includes("--webgpu")) await benchWebGPU(b, l, d, n);
}

/** Async timing (webgpu: `await data()`), median wall ms over `reps`. */
async function timeAsync(run: () => Promise<void>, reps: number) {
  await run();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

/** Fused WGSL kernels vs the reference loop on the webgpu backend. */
async function benchWebGPU(b: number, l: number, d: number, n: number) {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } })
    .gpu;
  if (!gpu || (await gpu.requestAdapter().catch(() => null)) == null) {
    console.log("webgpu: skipped (no adapter)");
    return;
  }
  await import("@tensorflow/tfjs-backend-webgpu");
  await tf.setBackend("webgpu");
  await tf.ready();
  const x = seededInputs(b, l, d, n);
  const w = tf.randomUniform([b, l, d], -1, 1, "float32", 8);
  const reps = 3;
  const out: string[] = [];
  for (
    const [name, scan] of [
      ["reference loop", selectiveScanRef],
      ["fused WGSL kernels", selectiveScan],
    ] as [string, Scan][]
  ) {
    const fwd = await timeAsync(async () => {
      const y = scan(x);
      await y.data();
      y.dispose();
    }, reps);
    const grad = tf.grads((...args: tf.Tensor[]) => {
      const named = {} as Record<string, tf.Tensor>;
      NAMES.forEach((k, i) => named[k] = args[i]);
      return tf.sum(tf.mul(scan(named as unknown as ScanInputs), w));
    });
    const fb = await timeAsync(async () => {
      const gs = grad(NAMES.map((k) => x[k]));
      await Promise.all(gs.map((g) => g.data()));
      tf.dispose(gs);
    }, reps);
    out.push(
      `${`webgpu ${name}`.padEnd(40)}${fwd.toFixed(2).padStart(10)}${
        fb.toFixed(2).padStart(10)
      }`,
    );
  }
  console.log(
    `webgpu (${tf.getBackend()}, Debian software Vulkan when no GPU), median wall ms of ${reps}:`,
  );
  console.log(`${"".padEnd(40)}${"fwd".padStart(10)}${"f+b".padStart(10)}`);
  out.forEach((line) => console.log(line));
  tf.dispose([w, ...Object.values(x)]);
}
