/**
 * Determinism probe for a TensorFlow.js backend (default `webgpu`): runs the
 * same computations several times and reports whether the float32 results
 * are bit-identical.
 *
 * 1. A split-K matmul shape ([1, 64, K] × [1, K, 64], K = 4096): tfjs-webgpu
 *    picks `MatMulSplitKProgram` for it (batch 1, K ≥ 2000, few 32×32
 *    output tiles), which accumulates partial sums into the output with a
 *    float atomic add (a compare-exchange loop), so the order of the
 *    additions, and the rounding, can change from run to run on a parallel
 *    GPU. Then the same with `WEBGPU_MATMUL_PROGRAM_TYPE` = 3 (the tiled
 *    `MatMulPackedProgram`, no atomics), the setting to use when bit-exact
 *    reruns matter more than speed.
 * 2. A seeded MERba training step (small widths, 64×64 input, batch 32,
 *    which reaches the split-K case in weight gradients) twice from the same
 *    seeds, with the default matmul choice and with program type 3: loss
 *    and all gradients compared bitwise.
 *
 * Usage: `deno run -A scripts/gpu/determinism.ts [--backend webgpu] [--reps 10]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { buildModel, initBackend } from "../../model/mod.ts";
import { benchConfig } from "../bench/gpu_bench.ts";
import type { BackendName } from "../../model/backend/runtime.ts";
import { dgcmLoss } from "../../train/losses.ts";
import { dgcmTargets } from "../../train/dgcm.ts";

/** Distinct bit patterns among result arrays (1 = all runs bit-identical). */
export function distinctResults(results: Float32Array[]): number {
  const seen = new Set<string>();
  for (const r of results) {
    const u = new Uint32Array(r.buffer, r.byteOffset, r.length);
    let h = 2166136261;
    for (let i = 0; i < u.length; i++) {
      h = Math.imul(h ^ u[i], 16777619) >>> 0;
    }
    seen.add(`${u.length}:${h}`);
  }
  return seen.size;
}

/** Runs the split-K matmul `reps` times; returns the number of distinct results. */
export async function matmulRuns(reps: number, k = 4096): Promise<number> {
  const a = tf.randomUniform([1, 64, k], -1, 1, "float32", 1);
  const b = tf.randomUniform([1, k, 64], -1, 1, "float32", 2);
  const out: Float32Array[] = [];
  for (let i = 0; i < reps; i++) {
    const c = tf.matMul(a, b);
    out.push(await c.data() as Float32Array);
    c.dispose();
  }
  tf.dispose([a, b]);
  return distinctResults(out);
}

/**
 * One seeded MERba training step's loss and gradients, flattened. Small
 * widths; at 64×64 input and batch 32 the stage-2 token count is
 * 32·8·8 = 2048, so weight gradients of narrow projections (x_proj:
 * 32 → 20 outputs) are matmuls with K ≥ 2000 and few output tiles: the
 * split-K case.
 */
export async function stepResult(
  seed: number,
  size = 64,
  batch = 32,
): Promise<Float32Array> {
  const config = benchConfig({ size, model: "small" });
  const model = buildModel(config, seed);
  const x = tf.randomUniform(
    [batch, size, size, 2],
    -1,
    1,
    "float32",
    seed + 1,
  );
  const t = Array.from({ length: batch }, (_, i) => (i * 3) % 7).map(
    dgcmTargets,
  );
  const { value, grads } = tf.variableGrads(() => {
    const o = model.apply(x as tf.Tensor4D, { training: true, seed });
    return dgcmLoss(
      o.coarse!,
      o.fine!,
      t.map((z) => z.coarse),
      t.map((z) => z.fine),
      1,
    );
  }, [...model.params.values()]);
  const parts = [await value.data() as Float32Array];
  for (const p of model.params.values()) {
    parts.push(await grads[p.name].data() as Float32Array);
  }
  tf.dispose([value, x, ...Object.values(grads)]);
  model.dispose();
  const n = parts.reduce((a, p) => a + p.length, 0);
  const flat = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    flat.set(p, o);
    o += p.length;
  }
  return flat;
}

/** CLI entry; returns the exit code (1 when a supposedly deterministic part was not). */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: "string", default: "webgpu" },
      reps: { type: "string", default: "10" },
    },
    strict: true,
  });
  const reps = Number(values.reps);
  if (!Number.isInteger(reps) || reps < 2) {
    console.error(`error: --reps must be an integer ≥ 2, got "${values.reps}"`);
    return 2;
  }
  const info = await initBackend(values.backend as BackendName);
  console.log(
    `backend ${info.name}; ${info.notes.join("; ")}`,
  );
  const env = tf.env();
  const hasFlag = info.name === "webgpu";
  const auto = await matmulRuns(reps);
  console.log(
    `matmul [1,64,4096]×[1,4096,64], default program choice (split-K with float atomics on webgpu): ${auto} distinct result(s) in ${reps} runs`,
  );
  let failed = 0;
  if (hasFlag) {
    env.set("WEBGPU_MATMUL_PROGRAM_TYPE", 3);
    const packed = await matmulRuns(reps);
    env.set("WEBGPU_MATMUL_PROGRAM_TYPE", -1);
    console.log(
      `same matmul with WEBGPU_MATMUL_PROGRAM_TYPE=3 (tiled, no atomics): ${packed} distinct result(s) in ${reps} runs`,
    );
    if (packed !== 1) failed++;
  }
  for (const type of hasFlag ? [-1, 3] : [-1]) {
    env.set("WEBGPU_MATMUL_PROGRAM_TYPE", type);
    const steps = [await stepResult(7), await stepResult(7)];
    env.set("WEBGPU_MATMUL_PROGRAM_TYPE", -1);
    const same = distinctResults(steps) === 1;
    let differing = 0;
    for (let i = 0; i < steps[0].length; i++) {
      if (!Object.is(steps[0][i], steps[1][i])) differing++;
    }
    console.log(
      `seeded MERba training step (loss + ${
        steps[0].length - 1
      } gradient values), twice, ${
        type < 0 ? "default matmul choice" : "WEBGPU_MATMUL_PROGRAM_TYPE=3"
      }: ${same ? "bit-identical" : `DIFFERENT (${differing} values differ)`}`,
    );
    if (!same && (type === 3 || !hasFlag)) failed++;
  }
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
