/**
 * Measures the memory of ONE paper-scale MERba training step on the wasm
 * backend (224×224, merbaBase(): 111M parameters, DGCM head), the way
 * `train/train.ts` takes it: gradients accumulated over micro-batches by
 * `accumulatedGradients`, then one `AdamW.step`.
 *
 * ```
 * deno run -A scripts/bench/step_memory.ts [--train DIR] [--batch 4]
 *     [--micro 2] [--checkpoint] [--steps 1] [--dispose-grads]
 *     [--moments device|host] [--sums device|host]
 *
 * `train/train.ts` on wasm uses `--dispose-grads --moments host --sums host`.
 * ```
 *
 * `--train DIR` loads `optim.ts` / `train.ts` from another copy of the
 * `train/` folder (e.g. an older commit extracted with `git archive`), to compare
 * before/after. Prints, per step, the peak of `tf.memory().numBytes` (every
 * tensor registration is watched), the wasm heap size (`HEAPU8.length`,
 * which only grows, so it is the heap's high-water mark) and the time.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  buildModel,
  countParams,
  initBackend,
  merbaBase,
} from "../../model/mod.ts";
import { dgcmLoss } from "../../train/losses.ts";
import { dgcmTargets } from "../../train/dgcm.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    train: { type: "string" },
    batch: { type: "string", default: "4" },
    micro: { type: "string", default: "2" },
    checkpoint: { type: "boolean", default: false },
    "dispose-grads": { type: "boolean", default: false },
    moments: { type: "string", default: "device" },
    sums: { type: "string", default: "device" },
    steps: { type: "string", default: "1" },
  },
});
const trainDir = args.train
  ? pathToFileURL(resolve(args.train) + "/").href
  : new URL("../../train/", import.meta.url).href;
const optim = await import(new URL("optim.ts", trainDir).href);
const trainMod = await import(new URL("train.ts", trainDir).href);
const batch = Number(args.batch), micro = Number(args.micro);

await initBackend("wasm");
// deno-lint-ignore no-explicit-any
const engine = tf.engine() as any;
let peak = 0;
const track = engine.trackTensor.bind(engine);
engine.trackTensor = (a: unknown, b: unknown) => {
  track(a, b);
  peak = Math.max(peak, engine.state.numBytes);
};
// deno-lint-ignore no-explicit-any
const heap = () => (tf.backend() as any).wasm.HEAPU8.length as number;
const mib = (n: number) => (n / 2 ** 20).toFixed(0) + " MiB";

const cfg = merbaBase();
const model = buildModel(cfg, 1);
const opt = new optim.AdamW(
  model.params,
  {
    lr: 1e-4,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0.05,
  },
  undefined,
  { moments: args.moments },
);
const keyOf = new Map([...model.params].map(([k, v]) => [v.name, k]));
const labels = Array.from({ length: batch }, (_, i) => i % 7);
const x = tf.randomNormal([batch, 224, 224, 2], 0, 1, "float32", 7);
console.log(
  `MERba-224 (${
    (countParams(cfg) / 1e6).toFixed(1)
  }M params), batch ${batch}, micro-batch ${micro}, checkpoint ${args.checkpoint}, moments ${args.moments}, sums ${args.sums}, train ${trainDir}`,
);
console.log(
  `after build: numBytes ${mib(tf.memory().numBytes)}, heap ${mib(heap())}`,
);
for (let s = 0; s < Number(args.steps); s++) {
  peak = tf.memory().numBytes;
  const t0 = performance.now();
  let afterForward = 0;
  const chunks = trainMod.microBatches(batch, micro) as [number, number][];
  const accumulate = args.sums === "host"
    ? trainMod.accumulatedGradientsOnHost
    : trainMod.accumulatedGradients;
  const { value, grads } = accumulate(
    chunks,
    ([a, b]: [number, number], k: number) => {
      const out = model.apply(x.slice(a, b - a) as tf.Tensor4D, {
        training: true,
        seed: 100 + k,
        checkpoint: args.checkpoint,
      });
      afterForward = Math.max(afterForward, tf.memory().numBytes);
      const t = labels.slice(a, b).map(dgcmTargets);
      return dgcmLoss(
        out.coarse!,
        out.fine!,
        t.map((q) => q.coarse),
        t.map((q) => q.fine),
        0.5,
      );
    },
    [...model.params.values()],
  ) as { value: tf.Scalar; grads: Map<string, tf.Tensor | Float32Array> };
  const afterGrads = tf.memory().numBytes;
  const named = new Map([...grads].map(([n, g]) => [keyOf.get(n)!, g]));
  opt.step(named, { disposeGrads: args["dispose-grads"] });
  for (const g of grads.values()) if (!(g instanceof Float32Array)) g.dispose();
  const loss = (await value.data())[0];
  value.dispose();
  console.log(
    `step ${s + 1}: loss ${loss.toFixed(6)}, ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s; numBytes after forward ${mib(afterForward)}, after grads ${
      mib(afterGrads)
    }, peak ${mib(peak)}, after step ${mib(tf.memory().numBytes)}; wasm heap ${
      mib(heap())
    }`,
  );
}
