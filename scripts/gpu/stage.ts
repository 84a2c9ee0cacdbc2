/**
 * One stage of the GPU check (`scripts/gpu/check.ts` runs each in its own
 * process, with its own time limit). Every measurement is printed as soon as
 * it is known, as one line `RESULT {json}`, so a stage stopped at its limit
 * still reports what it finished; progress goes to stderr.
 *
 * ```sh
 * deno run -A scripts/gpu/stage.ts adapter
 * deno run -A scripts/gpu/stage.ts correctness [--tiny]
 * deno run -A scripts/gpu/stage.ts steps --variant fused|loop --batch 32 [--size 224 --model base --steps 5 --max-seconds 20 --matmul packed|auto]
 * deno run -A scripts/gpu/stage.ts determinism [--batch 16 --size 224 --model base --steps 3]
 * deno run -A scripts/gpu/stage.ts profile [--batch 32 --size 224 --model base]
 * ```
 * `--backend` (default webgpu) names the backend tested.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../model/mod.ts";
import type { BackendName } from "../../model/backend/runtime.ts";
import {
  benchConfig,
  type ScanVariant,
  timeSteps,
} from "../bench/gpu_bench.ts";
import { checkBackend } from "./correctness.ts";
import { profileStep } from "./profile.ts";
import { distinctResults, matmulRuns } from "./determinism.ts";

/** Prints one result line for the orchestrator. */
export function result(obj: Record<string, unknown>): void {
  console.log(`RESULT ${JSON.stringify(obj)}`);
}

const log = (s: string) => console.error(s);

/** What `navigator.gpu` offers: adapter info, features and limits (null: no adapter). */
export async function adapterReport(): Promise<Record<string, unknown> | null> {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter({
    powerPreference: "high-performance",
  }).catch(() => null);
  if (!adapter) return null;
  const info = adapter.info as unknown as Record<string, unknown>;
  const limits: Record<string, number> = {};
  const l = adapter.limits as unknown as Record<string, number>;
  for (const k in l) {
    if (typeof l[k] === "number") limits[k] = l[k];
  }
  return {
    info: {
      vendor: info?.vendor,
      architecture: info?.architecture,
      device: info?.device,
      description: info?.description,
    },
    isFallbackAdapter: (adapter as unknown as { isFallbackAdapter?: boolean })
      .isFallbackAdapter ?? null,
    features: [...adapter.features].sort(),
    limits,
  };
}

function int(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`--${name} must be a positive integer, got "${v}"`);
  }
  return n;
}

/** CLI entry; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [stage, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      backend: { type: "string", default: "webgpu" },
      tiny: { type: "boolean", default: false },
      variant: { type: "string", default: "fused" },
      batch: { type: "string" },
      size: { type: "string" },
      model: { type: "string" },
      steps: { type: "string" },
      "max-seconds": { type: "string" },
      matmul: { type: "string", default: "packed" },
      seed: { type: "string", default: "0" },
    },
    strict: true,
  });
  const backend = values.backend as BackendName;
  const model = (values.model ?? "base") as "base" | "small";
  if (model !== "base" && model !== "small") {
    console.error(`error: --model must be base or small, got "${model}"`);
    return 2;
  }
  const seed = Number(values.seed);
  switch (stage) {
    case "adapter": {
      const a = await adapterReport();
      result({ kind: "adapter", adapter: a });
      if (!a) {
        console.error(
          "no WebGPU adapter: navigator.gpu found no Vulkan device",
        );
        return 3;
      }
      const info = await initBackend(backend);
      const dev = tf.backend() as unknown as {
        device?: { limits: Record<string, number> };
        supportTimestampQuery?: boolean;
      };
      result({
        kind: "backend",
        backend: info.name,
        versions: info.versions,
        notes: info.notes,
        deviceMaxStorageBufferBindingSize: dev.device?.limits
          .maxStorageBufferBindingSize,
        deviceMaxBufferSize: dev.device?.limits.maxBufferSize,
        timestampQuery: dev.supportTimestampQuery ?? null,
      });
      return 0;
    }
    case "correctness": {
      const tiny = values.tiny;
      const r = await checkBackend({
        test: backend,
        reference: "cpu",
        scan: tiny
          ? { batch: 4, length: 16, dim: 8, state: 4 }
          : { batch: 128, length: 49, dim: 64, state: 8 },
        model: benchConfig({ size: 32, model: "small" }),
        modelBatch: 2,
        seed: seed + 11,
      });
      for (const [k, c] of Object.entries(r.worst)) {
        log(
          `  worst ${k}: ${c.name} relL2 ${c.relL2.toExponential(2)} relMax ${
            c.relMax.toExponential(2)
          }`,
        );
      }
      const worstFirst = [...r.compared].sort((a, b) => b.relL2 - a.relL2);
      result({
        kind: "correctness",
        ...r,
        comparedCount: r.compared.length,
        compared: worstFirst.slice(0, 15),
      });
      return r.pass ? 0 : 1;
    }
    case "steps": {
      const variant = values.variant as ScanVariant;
      if (variant !== "fused" && variant !== "loop") {
        console.error(
          `error: --variant must be fused or loop, got "${variant}"`,
        );
        return 2;
      }
      await initBackend(backend);
      if (backend === "webgpu") {
        if (values.matmul !== "packed" && values.matmul !== "auto") {
          console.error(
            `error: --matmul must be packed or auto, got "${values.matmul}"`,
          );
          return 2;
        }
        tf.env().set(
          "WEBGPU_MATMUL_PROGRAM_TYPE",
          values.matmul === "packed" ? 3 : -1,
        );
      }
      const t = await timeSteps(
        {
          batch: int("batch", values.batch, 32),
          size: int("size", values.size, 224),
          model,
          seed,
          steps: int("steps", values.steps, 5),
          maxSeconds: Number(values["max-seconds"] ?? 20),
        },
        variant,
        log,
      );
      result({
        kind: "steps",
        backend,
        matmul: values.matmul,
        size: int("size", values.size, 224),
        model,
        ...t,
      });
      return 0;
    }
    case "determinism": {
      await initBackend(backend);
      const o = {
        batch: int("batch", values.batch, 16),
        size: int("size", values.size, 224),
        model,
        seed,
        steps: int("steps", values.steps, 3),
        maxSeconds: 1e9,
      };
      const env = tf.env();
      const types = backend === "webgpu" ? [3, -1] : [null];
      for (const type of types) {
        if (type !== null) env.set("WEBGPU_MATMUL_PROGRAM_TYPE", type);
        const label = type === 3
          ? "packed (WEBGPU_MATMUL_PROGRAM_TYPE=3, the project's default)"
          : type === -1
          ? "auto (tfjs' choice, split-K with float atomics allowed)"
          : "backend default";
        const mm = await matmulRuns(5);
        result({
          kind: "matmul-repro",
          matmul: label,
          shape: "[1,64,4096]x[1,4096,64]",
          runs: 5,
          distinct: mm,
        });
        const runs = [];
        for (let r = 0; r < 2; r++) runs.push(await timeSteps(o, "fused", log));
        const [a, b] = runs;
        const lossesEqual = distinctResults([
          Float32Array.from(a.losses),
          Float32Array.from(b.losses),
        ]) === 1;
        result({
          kind: "training-repro",
          matmul: label,
          batch: o.batch,
          size: o.size,
          model,
          steps: a.losses.length,
          lossesA: a.losses,
          lossesB: b.losses,
          lossesBitIdentical: lossesEqual,
          weightsA: a.weightsHash,
          weightsB: b.weightsHash,
          weightsBitIdentical: a.weightsHash === b.weightsHash,
        });
      }
      return 0;
    }
    case "profile": {
      await initBackend(backend);
      const p = await profileStep({
        batch: int("batch", values.batch, 32),
        size: int("size", values.size, 224),
        model,
        seed,
      });
      for (const k of p.byProgram.length ? p.byProgram : p.byKernel) {
        log(
          `  ${k.name.padEnd(40)} ${String(k.count).padStart(5)}× ${
            k.ms.toFixed(2).padStart(10)
          } ms ${(100 * k.share).toFixed(1).padStart(5)}%`,
        );
      }
      result({ kind: "profile", ...p });
      return 0;
    }
    default:
      console.error(
        `error: unknown stage "${stage}" (adapter, correctness, steps, determinism, profile)`,
      );
      return 2;
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`error: ${(e as Error).stack ?? e}`);
    result({ kind: "error", error: String((e as Error).message ?? e) });
    Deno.exit(1);
  }
}
