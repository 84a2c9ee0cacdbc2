/**
 * `deno task bench:gpu`: training throughput of MERba-B (paper widths,
 * DGCM head) for whole epochs on DFME-size data (1856 training samples,
 * batch 128, 224×224 u/v flow) on the `webgpu` backend, with the fused
 * selective-scan kernel (`MerbaSelectiveScan`, WGSL on webgpu) and with the
 * tensor-op loop of `model/selective_scan_ref.ts` side by side, and, when a
 * Python with CUDA-enabled PyTorch is found, the same model's epoch in
 * PyTorch on CUDA (`gpu_torch.py`) with the tfjs/PyTorch ratio.
 *
 * The flows are random but seeded (uniform in [−1, 1], one seed per batch,
 * generated before timing): synthesising 1856 real flows at 224×224 takes
 * far longer than the benchmark and does not change the arithmetic. Labels
 * are seeded too, cycling through the 7 DFME classes.
 *
 * One step = forward (training mode, seeded dropout/drop path) + DGCM loss
 * (coarse CE + α·fine CE, α = 1) + backward + AdamW (lr 1e-4, wd 0.05, the
 * project's optimizer). The loss is read back with `await data()` after
 * every step (webgpu cannot `dataSync()`), so each step's time is complete.
 * One untimed warm-up step per variant compiles the shaders.
 *
 * The op-loop variant is obtained by unregistering the fused kernels for the
 * active backend while it runs: `selectiveScan` (model/selective_scan.ts)
 * then falls back to `selectiveScanRef`, as it does on backends without the
 * kernel; the kernels are registered again afterwards.
 *
 * Usage:
 * ```sh
 * deno task bench:gpu                                  # 1 epoch, 1856 samples, batch 128, 224×224
 * deno task bench:gpu --samples 8 --batch 4 --size 32 --model small   # tiny (lavapipe)
 * deno task bench:gpu --variants fused --torch-device cuda --python /opt/venv/bin/python
 * ```
 * Flags: `--epochs N` (1), `--samples N` (1856), `--batch N` (128),
 * `--size N` (224), `--model base|small` (base = MERba-B), `--backend B`
 * (webgpu), `--variants fused,loop`, `--seed N` (0), `--python PATH`
 * (`python3`, else `/usr/bin/python3`), `--torch-device auto|cuda|cpu|none`
 * (auto: CUDA when `torch.cuda.is_available()`, else skipped), `--json FILE`
 * (write the results), `--matmul-program auto|packed` (packed sets
 * `WEBGPU_MATMUL_PROGRAM_TYPE` = 3: no split-K matmuls with float atomics,
 * the deterministic setting; see docs/gpu.md).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import {
  buildModel,
  initBackend,
  merbaBase,
  type ModelConfig,
} from "../../model/mod.ts";
import type { BackendName } from "../../model/backend/runtime.ts";
import {
  SELECTIVE_SCAN_GRAD_KERNEL,
  SELECTIVE_SCAN_KERNEL,
} from "../../model/backend/ssm/kernels.ts";
import { AdamW } from "../../train/optim.ts";
import { dgcmLoss } from "../../train/losses.ts";
import { dgcmTargets } from "../../train/dgcm.ts";

/** Scan implementations the benchmark compares. */
export type ScanVariant = "fused" | "loop";

/** Settings of one benchmark run. */
export interface GpuBenchOptions {
  /** epochs timed per variant. */
  epochs: number;
  /** training samples per epoch (DFME-public train: 1856). */
  samples: number;
  /** batch size (the last batch of an epoch may be smaller). */
  batch: number;
  /** input height = width. */
  size: number;
  /** `base`: MERba-B paper widths; `small`: dims 32/64/128/256 (tests). */
  model: "base" | "small";
  /** seed of weights, data, labels and dropout. */
  seed: number;
}

/** Timing of one variant. */
export interface VariantTiming {
  /** which scan. */
  variant: ScanVariant;
  /** seconds of each timed epoch. */
  epochSeconds: number[];
  /** samples per second over all timed epochs. */
  samplesPerSecond: number;
  /** mean milliseconds per full step (batch of `batch`). */
  stepMs: number;
  /** loss after the last step (same seeds ⇒ comparable across variants). */
  lastLoss: number;
  /** whether the fused kernel was registered on this backend at all. */
  fusedAvailable: boolean;
}

/**
 * Window size of a stage whose map is m×m: 7 (the paper's, at 224 input
 * every stage map is a multiple of 7) when 7 tiles it, else the largest
 * divisor of m not above 8 (small inputs for tests).
 */
export function windowFor(m: number): number {
  if (m % 7 === 0) return 7;
  for (let w = Math.min(8, m); w > 1; w--) if (m % w === 0) return w;
  return 1;
}

/** The model configuration benchmarked. */
export function benchConfig(
  o: Pick<GpuBenchOptions, "size" | "model">,
): ModelConfig {
  const maps = [4, 8, 16, 32].map((f) => Math.ceil(o.size / f));
  const windowSize = maps.map(windowFor);
  if (o.model === "base") return merbaBase({ inputSize: o.size, windowSize });
  return merbaBase({
    inputSize: o.size,
    dims: [32, 64, 128, 256],
    heads: [1, 2, 4, 8],
    stemDim: 16,
    windowSize,
  });
}

/** Batch sizes of one epoch: full batches, then the remainder. */
export function batchSizes(samples: number, batch: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < samples; i += batch) {
    out.push(Math.min(batch, samples - i));
  }
  return out;
}

/**
 * Seeded labels: sample i of the epoch gets class (i·3 + seed) mod 7, so all
 * seven DFME classes (and both DGCM heads) occur in every batch of ≥ 7.
 */
export function labelsOf(start: number, n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, k) => ((start + k) * 3 + seed) % 7);
}

/** Removes the fused scan kernels of `backend`; returns a function that restores them. */
export function disableFusedScan(backend: string): () => void {
  const saved = [SELECTIVE_SCAN_KERNEL, SELECTIVE_SCAN_GRAD_KERNEL]
    .map((k) => tf.getKernel(k, backend))
    .filter((k): k is tf.KernelConfig => k !== undefined);
  for (const k of saved) tf.unregisterKernel(k.kernelName, backend);
  return () => {
    for (const k of saved) {
      if (tf.getKernel(k.kernelName, backend) === undefined) {
        tf.registerKernel(k);
      }
    }
  };
}

/** A seeded training loop of one model: the step the benchmark times. */
export interface Trainer {
  /** one step (forward, DGCM loss, backward, AdamW) on `x`, whose first sample is sample `start` of the epoch; resolves to the loss, read back. */
  step(x: tf.Tensor4D, start: number): Promise<number>;
  /** a checksum of every weight's float32 bits (FNV-1a over all parameters, in order). */
  weightsHash(): Promise<string>;
  /** frees the model, optimizer state and restores the fused kernels. */
  dispose(): void;
  /** whether the fused kernel was registered on this backend at all. */
  fusedAvailable: boolean;
}

/**
 * Builds the model of `config` with `o.seed`, AdamW (lr 1e-4, wd 0.05), and
 * a step function; with `variant` = `loop` the fused scan kernels are
 * unregistered until {@link Trainer.dispose}.
 */
export function makeTrainer(
  o: Pick<GpuBenchOptions, "seed">,
  variant: ScanVariant,
  config: ModelConfig,
): Trainer {
  const backend = tf.getBackend();
  const fusedAvailable = tf.getKernel(SELECTIVE_SCAN_KERNEL, backend) !==
    undefined;
  const restore = variant === "loop" ? disableFusedScan(backend) : () => {};
  const model = buildModel(config, o.seed);
  const opt = new AdamW(model.params, {
    lr: 1e-4,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0.05,
  });
  let dropSeed = o.seed * 1_000_003;
  const step = async (x: tf.Tensor4D, start: number): Promise<number> => {
    const labels = labelsOf(start, x.shape[0], o.seed);
    const t = labels.map(dgcmTargets);
    const { value, grads } = tf.variableGrads(() => {
      const out = model.apply(x, { training: true, seed: dropSeed++ });
      return dgcmLoss(
        out.coarse!,
        out.fine!,
        t.map((z) => z.coarse),
        t.map((z) => z.fine),
        1,
      );
    }, [...model.params.values()]);
    const byName = new Map<string, tf.Tensor>();
    for (const [name, p] of model.params) byName.set(name, grads[p.name]);
    opt.step(byName);
    tf.dispose(Object.values(grads));
    const loss = (await value.data())[0];
    value.dispose();
    return loss;
  };
  const weightsHash = async () => {
    let h = 2166136261;
    for (const p of model.params.values()) {
      const d = await p.data() as Float32Array;
      const u = new Uint32Array(d.buffer, d.byteOffset, d.length);
      for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i], 16777619);
    }
    return (h >>> 0).toString(16).padStart(8, "0");
  };
  return {
    step,
    weightsHash,
    fusedAvailable,
    dispose: () => {
      opt.dispose();
      model.dispose();
      restore();
    },
  };
}

/** Seeded random flows of one batch (uniform in [−1, 1]). */
function randomBatch(
  n: number,
  size: number,
  channels: number,
  seed: number,
): tf.Tensor4D {
  return tf.randomUniform(
    [n, size, size, channels],
    -1,
    1,
    "float32",
    seed,
  ) as tf.Tensor4D;
}

/** Times `epochs` epochs of training with one scan variant. */
export async function timeVariant(
  o: GpuBenchOptions,
  variant: ScanVariant,
  config: ModelConfig,
  log: (s: string) => void = () => {},
): Promise<VariantTiming> {
  const trainer = makeTrainer(o, variant, config);
  const sizes = batchSizes(o.samples, o.batch);
  // seeded random flows, generated before timing (see module docs)
  const xs = sizes.map((n, i) =>
    randomBatch(n, o.size, config.inChannels, o.seed * 1000 + i + 1)
  );
  try {
    await trainer.step(xs[0], 0); // warm-up: shader compilation, buffer pools
    const epochSeconds: number[] = [];
    let lastLoss = NaN;
    for (let e = 0; e < o.epochs; e++) {
      const t0 = performance.now();
      let start = 0;
      for (const x of xs) {
        lastLoss = await trainer.step(x, start);
        start += x.shape[0];
      }
      epochSeconds.push((performance.now() - t0) / 1000);
      log(
        `  ${variant}: epoch ${e + 1}/${o.epochs} ${
          epochSeconds[e].toFixed(2)
        } s, loss ${lastLoss.toFixed(4)}`,
      );
    }
    const total = epochSeconds.reduce((a, b) => a + b, 0);
    return {
      variant,
      epochSeconds,
      samplesPerSecond: o.samples * o.epochs / total,
      stepMs: total * 1000 / (o.epochs * sizes.length),
      lastLoss,
      fusedAvailable: trainer.fusedAvailable,
    };
  } finally {
    tf.dispose(xs);
    trainer.dispose();
  }
}

/** Settings of {@link timeSteps}. */
export interface StepTimingOptions {
  /** batch size of every step. */
  batch: number;
  /** input height = width. */
  size: number;
  /** `base` (MERba-B) or `small`. */
  model: "base" | "small";
  /** seed of weights, data, labels and dropout. */
  seed: number;
  /** timed steps at most (after one untimed warm-up step). */
  steps: number;
  /** stop timing once this many seconds of timed steps have passed (≥ 1 step is always timed). */
  maxSeconds: number;
  /** distinct seeded input batches cycled through (default min(steps, 4)). */
  inputs?: number;
}

/** What {@link timeSteps} measured. */
export interface StepTiming {
  /** which scan. */
  variant: ScanVariant;
  /** batch size. */
  batch: number;
  /** milliseconds of the untimed warm-up step (shader compilation included). */
  warmupMs: number;
  /** milliseconds of each timed step. */
  stepMs: number[];
  /** median of `stepMs`. */
  medianStepMs: number;
  /** batch / median step time. */
  samplesPerSecond: number;
  /** seconds one epoch of `epochSamples` would take at that rate. */
  epochSeconds: number;
  /** samples of the epoch extrapolated to (DFME train: 1856). */
  epochSamples: number;
  /** loss of the warm-up step, then of each timed step. */
  losses: number[];
  /** FNV-1a of all weights' bits after the last step. */
  weightsHash: string;
  /** whether the fused kernel was registered on this backend at all. */
  fusedAvailable: boolean;
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times training steps at one batch size: one untimed warm-up step, then up
 * to `steps` timed ones (stopping early after `maxSeconds`), each on one of
 * a few seeded random batches generated before timing; the epoch time on
 * DFME's 1856 training clips is extrapolated from the median step.
 */
export async function timeSteps(
  o: StepTimingOptions,
  variant: ScanVariant,
  log: (s: string) => void = () => {},
): Promise<StepTiming> {
  const config = benchConfig(o);
  const trainer = makeTrainer(o, variant, config);
  const n = o.inputs ?? Math.min(o.steps, 4);
  const xs = Array.from(
    { length: Math.max(1, n) },
    (_, i) =>
      randomBatch(o.batch, o.size, config.inChannels, o.seed * 1000 + i + 1),
  );
  try {
    let t0 = performance.now();
    const losses = [await trainer.step(xs[0], 0)];
    const warmupMs = performance.now() - t0;
    log(
      `  ${variant} batch ${o.batch}: warm-up step ${
        warmupMs.toFixed(0)
      } ms, loss ${losses[0].toFixed(5)}`,
    );
    const stepMs: number[] = [];
    const begin = performance.now();
    for (let i = 0; i < o.steps; i++) {
      t0 = performance.now();
      losses.push(
        await trainer.step(xs[(i + 1) % xs.length], (i + 1) * o.batch),
      );
      stepMs.push(performance.now() - t0);
      if ((performance.now() - begin) / 1000 >= o.maxSeconds) break;
    }
    const med = median(stepMs);
    const epochSamples = 1856;
    const sps = o.batch * 1000 / med;
    log(
      `  ${variant} batch ${o.batch}: ${stepMs.length} timed step(s), median ${
        med.toFixed(1)
      } ms → ${sps.toFixed(2)} samples/s, DFME epoch ≈ ${
        (epochSamples / sps).toFixed(1)
      } s`,
    );
    return {
      variant,
      batch: o.batch,
      warmupMs,
      stepMs,
      medianStepMs: med,
      samplesPerSecond: sps,
      epochSeconds: epochSamples / sps,
      epochSamples,
      losses,
      weightsHash: await trainer.weightsHash(),
      fusedAvailable: trainer.fusedAvailable,
    };
  } finally {
    tf.dispose(xs);
    trainer.dispose();
  }
}

/** Result of the PyTorch side (`gpu_torch.py`'s JSON line). */
export interface TorchTiming {
  /** device used (`cuda` or `cpu`). */
  device: string;
  /** device name (GPU model) or CPU thread count. */
  deviceName: string;
  /** torch version. */
  torch: string;
  /** seconds of each timed epoch. */
  epoch_s: number[];
  /** samples per second. */
  samples_per_s: number;
  /** mean ms per step. */
  step_ms: number;
  /** what the scan is. */
  scan: string;
}

/** Finds a Python with torch; returns its path and whether CUDA is available. */
export async function findTorch(
  candidates: string[],
): Promise<{ python: string; cuda: boolean } | null> {
  for (const python of candidates) {
    try {
      const out = await new Deno.Command(python, {
        args: ["-c", "import torch; print(torch.cuda.is_available())"],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (out.success) {
        const text = new TextDecoder().decode(out.stdout).trim();
        return { python, cuda: text.endsWith("True") };
      }
    } catch {
      // not installed: try the next one
    }
  }
  return null;
}

/** Runs `gpu_torch.py` for the same configuration. */
export async function timeTorch(
  python: string,
  device: "cuda" | "cpu",
  o: GpuBenchOptions,
  config: ModelConfig,
): Promise<TorchTiming> {
  const cfgPath = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(cfgPath, JSON.stringify(config));
    const script = fileURLToPath(new URL("./gpu_torch.py", import.meta.url));
    const out = await new Deno.Command(python, {
      args: [
        script,
        "--config",
        cfgPath,
        "--device",
        device,
        "--samples",
        String(o.samples),
        "--batch",
        String(o.batch),
        "--epochs",
        String(o.epochs),
        "--seed",
        String(o.seed),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `gpu_torch.py failed: ${
          new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3)
            .join(" | ")
        }`,
      );
    }
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    return JSON.parse(lines[lines.length - 1]) as TorchTiming;
  } finally {
    await Deno.remove(cfgPath);
  }
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`--${flag} must be a positive integer, got "${v}"`);
  }
  return n;
}

/** CLI entry; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      epochs: { type: "string", default: "1" },
      samples: { type: "string", default: "1856" },
      batch: { type: "string", default: "128" },
      size: { type: "string", default: "224" },
      model: { type: "string", default: "base" },
      backend: { type: "string", default: "webgpu" },
      variants: { type: "string", default: "fused,loop" },
      seed: { type: "string", default: "0" },
      python: { type: "string" },
      "torch-device": { type: "string", default: "auto" },
      json: { type: "string" },
      "matmul-program": { type: "string", default: "auto" },
    },
    strict: true,
  });
  let o: GpuBenchOptions;
  let variants: ScanVariant[];
  try {
    if (values.model !== "base" && values.model !== "small") {
      throw new Error(`--model must be base or small, got "${values.model}"`);
    }
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) {
      throw new Error(`--seed must be an integer ≥ 0, got "${values.seed}"`);
    }
    o = {
      epochs: positiveInt("epochs", values.epochs),
      samples: positiveInt("samples", values.samples),
      batch: positiveInt("batch", values.batch),
      size: positiveInt("size", values.size),
      model: values.model,
      seed,
    };
    variants = values.variants.split(",").map((v) => {
      if (v !== "fused" && v !== "loop") {
        throw new Error(`--variants: expected fused and/or loop, got "${v}"`);
      }
      return v;
    });
    if (!["auto", "cuda", "cpu", "none"].includes(values["torch-device"])) {
      throw new Error(
        `--torch-device must be auto, cuda, cpu or none, got "${
          values["torch-device"]
        }"`,
      );
    }
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  const info = await initBackend(values.backend as BackendName);
  const mp = values["matmul-program"];
  if (mp !== "auto") {
    const type = mp === "packed" ? 3 : NaN;
    if (Number.isNaN(type) || info.name !== "webgpu") {
      console.error(
        `error: --matmul-program must be auto or packed (webgpu only), got "${mp}" on ${info.name}`,
      );
      return 2;
    }
    // tiled matmul everywhere: no split-K float atomics, bit-identical reruns
    tf.env().set("WEBGPU_MATMUL_PROGRAM_TYPE", type);
  }
  const config = benchConfig(o);
  const loaded = (navigator as { hardwareConcurrency?: number })
    .hardwareConcurrency;
  console.log(
    `bench:gpu — MERba (${
      o.model === "base"
        ? "MERba-B widths 128/256/512/1024"
        : "small widths 32/64/128/256"
    }, DGCM) ${o.size}×${o.size}×${config.inChannels}, ${o.samples} samples/epoch, batch ${o.batch}, ${o.epochs} epoch(s); seeded random flows (not real TV-L1 flows)`,
  );
  console.log(
    `backend ${info.name} (${
      info.notes.filter((n) => n.startsWith("adapter")).join("; ") ||
      "no adapter description"
    }), deno ${Deno.version.deno}, tfjs ${tf.version.tfjs}, ${
      loaded ?? "?"
    } CPU threads visible`,
  );
  if (info.name === "webgpu") {
    console.log(
      `webgpu matmul program: ${
        mp === "packed"
          ? "packed (WEBGPU_MATMUL_PROGRAM_TYPE=3, deterministic)"
          : "auto (split-K with float atomics where tfjs picks it: not bit-reproducible)"
      }`,
    );
  }
  const results: Record<string, unknown> = {
    options: o,
    backend: info,
    matmulProgram: mp,
  };
  const timings: VariantTiming[] = [];
  for (const v of variants) {
    const t = await timeVariant(o, v, config, (s) => console.log(s));
    timings.push(t);
    console.log(
      `tfjs-${info.name} ${
        v === "fused"
          ? "fused scan kernel"
          : "op-loop scan (selective_scan_ref)"
      }: ${t.samplesPerSecond.toFixed(2)} samples/s, ${
        t.stepMs.toFixed(0)
      } ms/step${
        v === "fused" && !t.fusedAvailable
          ? " (no fused kernel on this backend: this is the op loop too)"
          : ""
      }`,
    );
  }
  results.tfjs = timings;
  const fused = timings.find((t) => t.variant === "fused");
  const loop = timings.find((t) => t.variant === "loop");
  if (fused && loop) {
    console.log(
      `fused/op-loop speed-up: ${
        (fused.samplesPerSecond / loop.samplesPerSecond).toFixed(2)
      }× (last losses ${fused.lastLoss.toFixed(5)} / ${
        loop.lastLoss.toFixed(5)
      })`,
    );
  }
  const want = values["torch-device"];
  if (want !== "none") {
    const candidates = values.python
      ? [values.python]
      : ["python3", "/usr/bin/python3"];
    const found = await findTorch(candidates);
    if (!found) {
      console.log(
        `PyTorch reference: skipped (no torch in ${candidates.join(", ")})`,
      );
    } else if (want === "auto" && !found.cuda) {
      console.log(
        `PyTorch-CUDA reference: skipped (torch.cuda.is_available() is False for ${found.python}; --torch-device cpu runs it on the CPU)`,
      );
    } else {
      const device = want === "cpu" ? "cpu" : "cuda";
      try {
        const p = await timeTorch(found.python, device, o, config);
        results.torch = p;
        console.log(
          `PyTorch ${p.torch} on ${p.device} (${p.deviceName}): ${
            p.samples_per_s.toFixed(2)
          } samples/s, ${p.step_ms.toFixed(0)} ms/step — ${p.scan}`,
        );
        const best = timings.reduce(
          (a, b) => (b.samplesPerSecond > a.samplesPerSecond ? b : a),
          timings[0],
        );
        if (best) {
          console.log(
            `ratio PyTorch/tfjs (samples/s): ${
              (p.samples_per_s / best.samplesPerSecond).toFixed(2)
            }× (tfjs ${best.variant} on ${info.name} vs PyTorch ${p.device})`,
          );
        }
      } catch (e) {
        console.log(`PyTorch reference: ${(e as Error).message}`);
      }
    }
  }
  if (values.json) {
    await Deno.writeTextFile(values.json, JSON.stringify(results, null, 2));
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
