/**
 * Model benchmark on the wasm backend: forward (eval) and training-step
 * (forward + backward + Adam update) time and samples/s of MERba at 224×224
 * batch 2 and of a small MERba (112×112, dims 32/64/128/256), and, when
 * Debian's `/usr/bin/python3` has torch, the same models' PyTorch CPU times
 * (`model_torch.py`) with tfjs/PyTorch ratios, all in one command.
 *
 * Both sides use drop path 0 and dropout 0 (the PyTorch twin has no
 * stochastic layers), a DGCM head with coarse + fine cross-entropy, and Adam
 * (plain SGD on both sides when Adam's state does not fit the 4 GiB wasm
 * heap). Each tfjs case runs in a child process. The 224×224 case trains
 * with gradient checkpointing (without it a batch-2 step needs more than the
 * 4 GiB wasm heap); PyTorch keeps its activations.
 *
 * Usage: deno run -A scripts/bench/model_bench.ts [--reps=R] [--only=small|full]
 * [--backend=wasm] [--no-torch]
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import {
  buildModel,
  initBackend,
  merbaBase,
  type ModelConfig,
} from "../../model/mod.ts";
import type { BackendName } from "../../model/backend/runtime.ts";

/** One benchmarked case. */
interface Case {
  name: string;
  config: ModelConfig;
  batch: number;
  /** gradient checkpointing of token blocks in the training step. */
  checkpoint: boolean;
}

const CASES: Case[] = [
  {
    name: "MERba small 112×112 (dims 32/64/128/256), batch 2",
    config: merbaBase({
      inputSize: 112,
      dims: [32, 64, 128, 256],
      heads: [1, 2, 4, 8],
      stemDim: 16,
      windowSize: [7, 7, 7, 4],
      dropPath: 0,
      dropout: 0,
    }),
    batch: 2,
    checkpoint: false,
  },
  {
    name: "MERba 224×224 (paper widths), batch 2, checkpointed token blocks",
    config: merbaBase({ dropPath: 0, dropout: 0 }),
    batch: 2,
    checkpoint: true,
  },
];

function timeTfjs(c: Case, reps: number, optimizer: string) {
  const m = buildModel(c.config, 1);
  const s = c.config.inputSize as number;
  const x = tf.randomUniform(
    [c.batch, s, s, c.config.inChannels],
    -1,
    1,
    "float32",
    1,
  ) as tf.Tensor4D;
  const yc = tf.oneHot(
    tf.tensor1d(Array.from({ length: c.batch }, (_, i) => i % 4), "int32"),
    4,
  );
  const opt = optimizer === "adam" ? tf.train.adam(1e-4) : tf.train.sgd(1e-4);
  const fwd = () => {
    const o = m.apply(x, { training: false });
    (o.coarse ?? o.logits)!.dataSync();
    tf.dispose(o as unknown as tf.Tensor[]);
  };
  let seed = 0;
  const step = () => {
    const loss = opt.minimize(() => {
      const o = m.apply(x, {
        training: true,
        seed: seed++,
        checkpoint: c.checkpoint,
      });
      return tf.add(
        tf.losses.softmaxCrossEntropy(yc, o.coarse!),
        tf.losses.softmaxCrossEntropy(yc, o.fine!),
      ) as tf.Scalar;
    }, true)!;
    loss.dataSync();
    loss.dispose();
  };
  const res: Record<string, number> = {
    param_mb: m.numParams() * 4 / 2 ** 20,
  };
  for (const [name, fn] of [["forward_ms", fwd], ["train_ms", step]] as const) {
    fn(); // warm-up
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    res[name] = (performance.now() - t) / reps;
    console.log(JSON.stringify(res)); // partial results survive a later crash
  }
  opt.dispose();
  tf.dispose([x, yc]);
  m.dispose();
  return res;
}

/**
 * Times one case in a child process (a wasm heap that runs out of memory
 * traps and cannot be reused), with Adam and, if that fails, plain SGD.
 */
async function timeTfjsIsolated(
  index: number,
  reps: number,
  backend: string,
): Promise<
  { res?: Record<string, number>; optimizer: string; errors: string[] }
> {
  const errors: string[] = [];
  let partial: Record<string, number> | undefined;
  for (const optimizer of ["adam", "sgd"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        `--child=${index}`,
        `--reps=${reps}`,
        `--optimizer=${optimizer}`,
        `--backend=${backend}`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const lines = new TextDecoder().decode(out.stdout).split("\n").filter((l) =>
      l.startsWith("{")
    );
    const last = lines.length > 0
      ? JSON.parse(lines[lines.length - 1])
      : undefined;
    if (out.success && last?.train_ms !== undefined) {
      return { res: last, optimizer, errors };
    }
    partial ??= last;
    const err = new TextDecoder().decode(out.stderr).split("\n").find((l) =>
      /error/i.test(l)
    ) ?? `exit ${out.code}`;
    errors.push(
      `${optimizer}: ${
        err.replace(
          new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g"),
          "",
        ).trim()
      }`,
    );
  }
  return { res: partial, optimizer: "none", errors };
}

async function torchAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import torch"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

async function timeTorch(
  c: Case,
  reps: number,
  optimizer: string,
): Promise<Record<string, number> | string> {
  const cfgPath = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(cfgPath, JSON.stringify(c.config));
  const script = new URL("./model_torch.py", import.meta.url).pathname;
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [script, cfgPath, String(c.batch), String(reps), optimizer],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(cfgPath);
  if (!out.success) {
    return `failed: ${
      new TextDecoder().decode(out.stderr).trim().split("\n").pop()
    }`;
  }
  return JSON.parse(
    new TextDecoder().decode(out.stdout).trim().split("\n").pop()!,
  );
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      reps: { type: "string", default: "" },
      only: { type: "string", default: "" },
      backend: { type: "string", default: "wasm" },
      "no-torch": { type: "boolean", default: false },
      child: { type: "string", default: "" },
      optimizer: { type: "string", default: "adam" },
    },
    strict: true,
  });
  const info = await initBackend(values.backend as BackendName);
  if (values.child) {
    const c = CASES[Number(values.child)];
    console.log(
      JSON.stringify(timeTfjs(c, Number(values.reps), values.optimizer!)),
    );
    return;
  }
  const torch = !values["no-torch"] && await torchAvailable();
  console.log(
    `backend ${info.name} (threads ${info.threads}, simd ${info.simd}), deno ${Deno.version.deno}, tfjs ${tf.version.tfjs}; PyTorch ${
      torch ? "/usr/bin/python3" : "not run"
    }`,
  );
  for (const [index, c] of CASES.entries()) {
    if (values.only === "small" && !c.name.includes("small")) continue;
    if (values.only === "full" && c.name.includes("small")) continue;
    const reps = values.reps
      ? Number(values.reps)
      : c.name.includes("small")
      ? 3
      : 1;
    const run = await timeTfjsIsolated(index, reps, info.name);
    console.log(`${c.name} — ${reps} timed rep(s) after 1 warm-up`);
    for (const e of run.errors) {
      console.log(`  tfjs-${info.name} failed with ${e}`);
    }
    if (!run.res) continue;
    const t = run.res;
    console.log(
      `  parameters ${
        t.param_mb.toFixed(0)
      } MiB; tfjs optimizer ${run.optimizer}${
        run.optimizer === "sgd"
          ? " (Adam's two slots did not fit the 4 GiB wasm heap)"
          : run.optimizer === "none"
          ? " (no training step fitted the 4 GiB wasm heap; PyTorch trains with Adam)"
          : ""
      }`,
    );
    const line = (label: string, r: Record<string, number>) =>
      `  ${label.padEnd(9)} forward ${
        r.forward_ms.toFixed(0).padStart(7)
      } ms (${
        (c.batch * 1000 / r.forward_ms).toFixed(2)
      } samples/s)   train step ${
        r.train_ms === undefined
          ? "    n/a"
          : `${r.train_ms.toFixed(0).padStart(7)} ms (${
            (c.batch * 1000 / r.train_ms).toFixed(2)
          } samples/s)`
      }`;
    console.log(line(`tfjs-${info.name}`, t));
    if (torch) {
      const p = await timeTorch(
        c,
        reps,
        run.optimizer === "none" ? "adam" : run.optimizer,
      );
      if (typeof p === "string") {
        console.log(`  torch     ${p}`);
      } else {
        console.log(line(`torch×${p.threads}`, p));
        console.log(
          `  ratio tfjs/torch: forward ${
            (t.forward_ms / p.forward_ms).toFixed(2)
          }×, train step ${
            t.train_ms === undefined
              ? "n/a"
              : `${(t.train_ms / p.train_ms).toFixed(2)}×`
          }`,
        );
      }
    }
  }
}

if (import.meta.main) await main();
