/**
 * Per-kernel time of one MERba training step (the GPU check's profiling
 * hook): `tf.profile` over a step after an untimed warm-up, aggregated by
 * TensorFlow.js kernel name and, on webgpu, by WGSL program (tfjs-webgpu
 * names each dispatched program in the profile's `extraInfo`).
 *
 * On webgpu the times are GPU timestamps, one compute pass per program, and
 * exist only when the adapter offers the `timestamp-query` feature (tfjs
 * then requests it; otherwise every time is 0 and `timestamps` is false).
 * Profiling ends a compute pass per dispatch, so the profiled step is
 * slower than an unprofiled one; the shares between kernels are what it is
 * for. On the CPU backends the times are wall-clock per kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { benchConfig, makeTrainer } from "../bench/gpu_bench.ts";

/** Time spent in one kernel (or program) over the profiled step. */
export interface KernelShare {
  /** kernel name (e.g. `BatchMatMul`) or WGSL program (e.g. `MatMulPackedProgram`). */
  name: string;
  /** times it ran. */
  count: number;
  /** total milliseconds. */
  ms: number;
  /** share of the step's summed kernel time. */
  share: number;
}

/** What {@link profileStep} measured. */
export interface StepProfile {
  /** backend profiled. */
  backend: string;
  /** batch, input size and model. */
  batch: number;
  /** input height = width. */
  size: number;
  /** `base` or `small`. */
  model: "base" | "small";
  /** wall milliseconds of the profiled step. */
  wallMs: number;
  /** kernels run. */
  kernelCount: number;
  /** summed kernel milliseconds. */
  kernelMs: number;
  /** whether kernel times are real (webgpu: `timestamp-query` present). */
  timestamps: boolean;
  /** per tfjs kernel, most time first. */
  byKernel: KernelShare[];
  /** per WGSL program (webgpu only), most time first. */
  byProgram: KernelShare[];
  /** bytes newly allocated by the step (tf.profile's newBytes). */
  newBytes: number;
  /** peak bytes during the step. */
  peakBytes: number;
}

/** Sums `[name, ms]` pairs into shares, most time first. */
export function aggregate(
  items: Iterable<[string, number]>,
  top = Infinity,
): KernelShare[] {
  const m = new Map<string, { count: number; ms: number }>();
  let total = 0;
  for (const [name, ms] of items) {
    const e = m.get(name) ?? { count: 0, ms: 0 };
    e.count++;
    e.ms += ms;
    total += ms;
    m.set(name, e);
  }
  return [...m.entries()]
    .map(([name, e]) => ({
      name,
      count: e.count,
      ms: e.ms,
      share: total > 0 ? e.ms / total : 0,
    }))
    .sort((a, b) => b.ms - a.ms || b.count - a.count)
    .slice(0, top);
}

/**
 * Parses tfjs-webgpu's `extraInfo` ("Prog: 0.12, Other: 0.5") into
 * `[program, ms]` pairs.
 */
export function parseExtraInfo(info: unknown): [string, number][] {
  if (typeof info !== "string" || info.trim() === "") return [];
  const out: [string, number][] = [];
  for (const part of info.split(", ")) {
    const i = part.lastIndexOf(": ");
    if (i < 0) continue;
    const ms = Number(part.slice(i + 2));
    if (Number.isFinite(ms)) out.push([part.slice(0, i), ms]);
  }
  return out;
}

/** Profiles one training step (after one warm-up step) of the bench model. */
export async function profileStep(o: {
  batch: number;
  size: number;
  model: "base" | "small";
  seed: number;
  top?: number;
}): Promise<StepProfile> {
  const config = benchConfig(o);
  const trainer = makeTrainer(o, "fused", config);
  const x = tf.randomUniform(
    [o.batch, o.size, o.size, config.inChannels],
    -1,
    1,
    "float32",
    o.seed + 1,
  ) as tf.Tensor4D;
  try {
    await trainer.step(x, 0);
    let wallMs = 0;
    const info = await tf.profile(async () => {
      const t0 = performance.now();
      await trainer.step(x, o.batch);
      wallMs = performance.now() - t0;
      return [];
    });
    const kernels = await Promise.all(
      info.kernels.map(async (k) => ({
        name: k.name,
        ms: Number(await k.kernelTimeMs) || 0,
        extra: await k.extraInfo,
      })),
    );
    const programs = kernels.flatMap((k) => parseExtraInfo(k.extra));
    const kernelMs = kernels.reduce((a, k) => a + k.ms, 0);
    const backend = tf.getBackend();
    return {
      backend,
      batch: o.batch,
      size: o.size,
      model: o.model,
      wallMs,
      kernelCount: kernels.length,
      kernelMs,
      timestamps: backend !== "webgpu" ||
        (tf.backend() as unknown as { supportTimestampQuery?: boolean })
            .supportTimestampQuery === true,
      byKernel: aggregate(kernels.map((k) => [k.name, k.ms]), o.top ?? 30),
      byProgram: aggregate(programs, o.top ?? 30),
      newBytes: info.newBytes,
      peakBytes: info.peakBytes,
    };
  } finally {
    x.dispose();
    trainer.dispose();
  }
}
