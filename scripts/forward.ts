/**
 * Runs a model forward in eval mode on a safetensors input.
 *
 * ```
 * deno task forward --config cfg.json --weights w.safetensors \
 *   --input x.safetensors --out y.safetensors [--features] [--backend wasm]
 * ```
 *
 * - `--config`: a (partial) ModelConfig JSON laid over its family's preset;
 *   when omitted, the `config` metadata of the weights file is used.
 * - `--input`: safetensors with key `input`, float32 NCHW [B, C, H, W].
 * - `--out`: writes `logits` (linear head) or `coarse` and `fine` (DGCM), and
 *   with `--features` the per-stage outputs `features.<i>` (NCHW).
 * - `--backend`: wasm (default), cpu, webgpu or tensorflow.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import {
  buildModel,
  initBackend,
  loadSafetensors,
  readSafetensors,
  type SafeTensor,
  SafetensorsReader,
  writeSafetensors,
} from "../model/mod.ts";
import { readModelConfig, resolveModelConfig } from "../model/config_file.ts";
import type { BackendName } from "../model/backend/runtime.ts";

const USAGE =
  "usage: deno task forward [--config cfg.json] --weights w.safetensors --input x.safetensors --out y.safetensors [--features] [--backend wasm|cpu|webgpu|tensorflow]";

async function main(args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: "string" },
        weights: { type: "string" },
        input: { type: "string" },
        out: { type: "string" },
        features: { type: "boolean", default: false },
        backend: { type: "string", default: "wasm" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  for (const k of ["weights", "input", "out"] as const) {
    if (!values[k]) throw new Error(`--${k} is required\n${USAGE}`);
  }
  const backends = ["wasm", "cpu", "webgpu", "tensorflow"];
  if (!backends.includes(values.backend!)) {
    throw new Error(
      `--backend: expected one of ${
        backends.join(", ")
      }, got ${values.backend}`,
    );
  }
  await initBackend(values.backend as BackendName);

  // the header only: the weights are read tensor by tensor when loaded
  const weights = await SafetensorsReader.open(values.weights!);
  weights.close();
  let config;
  if (values.config) {
    config = await readModelConfig(values.config);
  } else if (weights.header.metadata.config) {
    config = resolveModelConfig(JSON.parse(weights.header.metadata.config));
  } else {
    throw new Error(
      `--config is required: ${values.weights} has no "config" metadata`,
    );
  }
  const input = (await readSafetensors(values.input!)).tensors.get("input");
  if (!input) throw new Error(`${values.input}: no tensor named "input"`);
  if (input.shape.length !== 4 || input.dtype !== "F32") {
    throw new Error(
      `${values.input}: "input" must be float32 NCHW [B, C, H, W], got ${input.dtype} [${input.shape}]`,
    );
  }
  const model = buildModel(config, 0);
  await loadSafetensors(model, values.weights!);
  const x = tf.tidy(() =>
    tf.transpose(
      tf.tensor4d(
        input.data as Float32Array,
        input.shape as [number, number, number, number],
      ),
      [0, 2, 3, 1],
    ) as tf.Tensor4D
  );
  const t0 = performance.now();
  const out = model.apply(x, { training: false, features: values.features });
  const result = new Map<string, SafeTensor>();
  const put = (name: string, t: tf.Tensor) => {
    result.set(name, {
      data: t.dataSync() as Float32Array,
      shape: t.shape,
      dtype: "F32",
    });
  };
  if (out.logits) put("logits", out.logits);
  if (out.coarse) put("coarse", out.coarse);
  if (out.fine) put("fine", out.fine);
  out.features?.forEach((f, i) => {
    const nchw = tf.transpose(f, [0, 3, 1, 2]);
    put(`features.${i}`, nchw);
    nchw.dispose();
  });
  const ms = performance.now() - t0;
  await writeSafetensors(values.out!, result, {
    config: JSON.stringify(config),
    backend: tf.getBackend(),
  });
  console.log(
    `wrote ${
      [...result.keys()].join(", ")
    } to ${values.out} (${config.family}, batch ${
      input.shape[0]
    }, ${tf.getBackend()}, forward ${ms.toFixed(0)} ms)`,
  );
  model.dispose();
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`forward: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
