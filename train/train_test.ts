import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { EMOTIONS_7 } from "../data/types.ts";
import type { FlowSample } from "../data/types.ts";
import type { ModelConfig } from "../model/types.ts";
import type { TrainInput, TrainRecipe } from "./types.ts";
import { train } from "./train.ts";
import { evaluate } from "./evaluate.ts";
import {
  accumulatedGradients,
  accumulatedGradientsOnHost,
  microBatches,
} from "./accumulate.ts";
import { crossEntropy } from "./losses.ts";
import { stackBatch } from "./batches.ts";
import type { MerModel } from "../model/types.ts";
import { buildTinyModel, tinyFlowDataset, tinyModelConfig } from "./testing.ts";
import {
  buildModel as buildMerba,
  initBackend,
  registerKernels,
} from "../model/mod.ts";

await tf.setBackend("cpu");
registerKernels();

function recipe(overrides: Partial<TrainRecipe> = {}): TrainRecipe {
  return {
    epochs: 3,
    batchSize: 4,
    evalBatchSize: 5,
    optimizer: { lr: 0.05, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.05 },
    schedule: {
      warmupEpochs: 1,
      cooldownEpochs: 1,
      warmupStartLr: 0.005,
      minLr: 0.001,
    },
    earlyStopping: null,
    augment: { hflip: 0.5 },
    alpha: { kind: "linear", start: 0.2, end: 1 },
    ...overrides,
  };
}

const ds = tinyFlowDataset({ perClass: 6, seed: 3 });
const trainSet = ds.samples.slice(0, 12);
const valSet = ds.samples.slice(12, 15);
const testSet = ds.samples.slice(15);

function job(overrides: Partial<TrainInput> = {}): TrainInput {
  return {
    modelConfig: tinyModelConfig(),
    classes: ds.classes,
    train: trainSet,
    validation: valSet,
    tests: { test: testSet },
    recipe: recipe(),
    seeds: { init: 11, order: 12, augment: 13, dropout: 14 },
    buildModel: buildTinyModel,
    ...overrides,
  };
}

async function weights(
  model: {
    params: Map<string, tf.Variable>;
    buffers: Map<string, tf.Variable>;
  },
) {
  const out: Record<string, number[]> = {};
  for (const [k, v] of [...model.params, ...model.buffers]) {
    out[k] = [...await v.data()];
  }
  return out;
}

Deno.test("train is bit-identical for the same seeds and differs for another seed", async () => {
  const a = await train(job());
  const b = await train(job());
  const c = await train(
    job({ seeds: { init: 11, order: 99, augment: 13, dropout: 14 } }),
  );
  const strip = (r: typeof a) =>
    r.epochs.map(({ seconds: _s, ...rest }) => rest);
  assert.deepStrictEqual(strip(a), strip(b));
  assert.deepStrictEqual(a.predictions, b.predictions);
  assert.deepStrictEqual(await weights(a.model), await weights(b.model));
  assert.notDeepStrictEqual(
    strip(a).map((e) => e.trainLoss),
    strip(c).map((e) => e.trainLoss),
  );
  assert.notDeepStrictEqual(await weights(a.model), await weights(c.model));
  for (const r of [a, b, c]) r.model.dispose();
});

Deno.test("train leaks no tensors (after the caller disposes the model)", async () => {
  const before = tf.memory().numTensors;
  const r = await train(
    job({
      recipe: recipe({
        earlyStopping: {
          monitor: "uf1",
          patience: 5,
          minDelta: 0,
          restoreBest: true,
        },
      }),
    }),
  );
  r.model.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("train reports epochs, steps, lr schedule and predictions for every test sample", async () => {
  const steps: [number, number][] = [];
  const seen: number[] = [];
  const r = await train(job({
    tests: { testA: testSet, testB: valSet },
    onStep: (s, t) => steps.push([s, t]),
    onEpoch: (e) => seen.push(e.epoch),
  }));
  // 12 samples, batch 4 → 3 steps per epoch, 9 in all
  assert.deepStrictEqual(steps.map((s) => s[0]), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.ok(steps.every((s) => s[1] === 9));
  assert.deepStrictEqual(seen, [1, 2, 3]);
  // last step of epoch 3 is in the cooldown: minLr
  assert.equal(r.epochs[2].lr, 0.001);
  // epoch 1 ends at warmup step 2 of 3: 0.005 + 0.045·2/3
  assert.ok(Math.abs(r.epochs[0].lr - (0.005 + 0.045 * 2 / 3)) < 1e-12);
  assert.ok(
    r.epochs.every((e) =>
      Number.isFinite(e.trainLoss) && e.validation && e.seconds >= 0
    ),
  );
  assert.equal(r.bestEpoch, 3);
  assert.equal(r.stoppedEarly, false);
  assert.equal(r.predictions.length, testSet.length + valSet.length);
  const first = r.predictions[0];
  assert.equal(first.id, testSet[0].id);
  assert.equal(first.split, "testA");
  assert.equal(first.label, ds.classes.indexOf(testSet[0].label));
  assert.ok(r.predictions.every((p) => p.pred >= 0 && p.pred < 3));
  r.model.dispose();
});

Deno.test("train lowers the training loss on a learnable tiny dataset", async () => {
  const big = tinyFlowDataset({ perClass: 8, seed: 5, noise: 0.2 });
  const r = await train(job({
    train: big.samples,
    validation: null,
    tests: { test: big.samples },
    recipe: recipe({ epochs: 12, batchSize: 8, augment: { hflip: 0.5 } }),
  }));
  const losses = r.epochs.map((e) => e.trainLoss);
  assert.ok(losses[losses.length - 1] < 0.7 * losses[0], `losses ${losses}`);
  const acc = r.predictions.filter((p) => p.pred === p.label).length /
    r.predictions.length;
  assert.ok(acc > 0.5, `training-set accuracy ${acc}`);
  r.model.dispose();
});

Deno.test("early stopping stops after `patience` epochs and restores the best epoch's weights", async () => {
  // constant lr so a 1-epoch run follows the same trajectory as epoch 1 of a longer one
  const flat = {
    warmupEpochs: 0,
    cooldownEpochs: 0,
    warmupStartLr: 0.05,
    minLr: 0.05,
  };
  const never = recipe({
    epochs: 6,
    schedule: flat,
    // no epoch after the first can beat it by 1e9
    earlyStopping: {
      monitor: "loss",
      patience: 2,
      minDelta: 1e9,
      restoreBest: true,
    },
  });
  const r = await train(job({ recipe: never }));
  assert.equal(r.epochs.length, 3);
  assert.equal(r.bestEpoch, 1);
  assert.equal(r.stoppedEarly, true);
  const one = await train(
    job({ recipe: recipe({ epochs: 1, schedule: flat }) }),
  );
  assert.deepStrictEqual(await weights(r.model), await weights(one.model));
  const noRestore = await train(job({
    recipe: {
      ...never,
      earlyStopping: { ...never.earlyStopping!, restoreBest: false },
    },
  }));
  assert.notDeepStrictEqual(
    await weights(noRestore.model),
    await weights(one.model),
  );
  for (const m of [r, one, noRestore]) m.model.dispose();
});

Deno.test("train stops at a step boundary when the signal aborts, releasing everything", async () => {
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  let steps = 0;
  await assert.rejects(
    train(job({
      signal: controller.signal,
      onStep: (s) => {
        steps = s;
        if (s === 2) controller.abort();
      },
    })),
    (e: unknown) => e instanceof DOMException && e.name === "AbortError",
  );
  assert.equal(steps, 2);
  assert.equal(tf.memory().numTensors, before);
});

const dgcmSet = tinyFlowDataset({ classes: EMOTIONS_7, perClass: 2, seed: 9 });

Deno.test("train runs the DGCM head with α per epoch and predicts EMOTIONS_7 indices", async () => {
  const before = tf.memory().numTensors;
  const cfg: ModelConfig = tinyModelConfig({ head: "dgcm", numClasses: 7 });
  const r = await train(job({
    modelConfig: cfg,
    classes: EMOTIONS_7,
    train: dgcmSet.samples,
    validation: dgcmSet.samples.slice(0, 7),
    tests: { testA: dgcmSet.samples },
    recipe: recipe({
      epochs: 3,
      alpha: { kind: "linear", start: 0.2, end: 1 },
    }),
  }));
  const alphas = r.epochs.map((e) => e.alpha!);
  [0.2, 0.6, 1].forEach((a, i) => assert.ok(Math.abs(alphas[i] - a) < 1e-12));
  assert.equal(r.predictions.length, 14);
  assert.ok(
    r.predictions.every((p) =>
      Number.isInteger(p.pred) && p.pred >= 0 && p.pred < 7
    ),
  );
  // the decision is the model's: re-evaluating gives the same predictions
  const ev = await evaluate(r.model, dgcmSet.samples, EMOTIONS_7, {
    batchSize: 3,
  });
  assert.deepStrictEqual([...ev.pred], r.predictions.map((p) => p.pred));
  r.model.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("train rejects inconsistent jobs with a message naming the field", async () => {
  await assert.rejects(
    train(job({ modelConfig: tinyModelConfig({ head: "dgcm" }) })),
    /head is "dgcm".*\[negative, positive, surprise\]/,
  );
  await assert.rejects(
    train(job({ modelConfig: tinyModelConfig({ numClasses: 4 }) })),
    /numClasses is 4 but the dataset has 3 classes/,
  );
  await assert.rejects(
    train(job({
      validation: null,
      recipe: recipe({
        earlyStopping: {
          monitor: "uf1",
          patience: 1,
          minDelta: 0,
          restoreBest: true,
        },
      }),
    })),
    /earlyStopping is set but there is no validation data/,
  );
  const odd: FlowSample = {
    ...trainSet[0],
    id: "odd",
    height: 4,
    width: 4,
    data: new Float32Array(32),
  };
  await assert.rejects(
    train(job({ tests: { testB: [odd] } })),
    /test split "testB" sample "odd" is 4×4×2, expected 8×8×2/,
  );
  await assert.rejects(
    train(job({ recipe: recipe({ batchSize: 0 }) })),
    /recipe\.batchSize/,
  );
  const unknown: FlowSample = { ...trainSet[0], id: "u", label: "joy" };
  await assert.rejects(
    train(job({ train: [unknown, ...trainSet] })),
    /train sample "u" has label "joy"/,
  );
});

Deno.test("train releases everything when a training pass throws", async () => {
  const before = tf.memory().numTensors;
  let calls = 0;
  const flaky: TrainInput["buildModel"] = (config, seed) => {
    const m = buildTinyModel(config, seed);
    const apply = m.apply;
    return {
      ...m,
      apply: (x, options) => {
        if (options.training && ++calls === 2) {
          // allocate first, so the failure happens with live intermediates
          tf.zeros([4, 4]);
          throw new Error("boom in forward");
        }
        return apply(x, options);
      },
    };
  };
  await assert.rejects(train(job({ buildModel: flaky })), /boom in forward/);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("train rejects a diverging run naming the epoch and step", async () => {
  const before = tf.memory().numTensors;
  const bad: FlowSample[] = trainSet.map((s) => ({
    ...s,
    data: s.data.map(() => NaN),
  }));
  await assert.rejects(
    train(job({ train: bad })),
    /loss became NaN at epoch 1, step 1/,
  );
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("train checks optimizer, schedule, α and flip settings before building the model", async () => {
  const before = tf.memory().numTensors;
  let built = 0;
  const counting: TrainInput["buildModel"] = (c, s) => {
    built++;
    return buildTinyModel(c, s);
  };
  const base = recipe();
  await assert.rejects(
    train(
      job({
        buildModel: counting,
        recipe: { ...base, optimizer: { ...base.optimizer, eps: 0 } },
      }),
    ),
    /optimizer\.eps/,
  );
  await assert.rejects(
    train(
      job({
        buildModel: counting,
        recipe: { ...base, schedule: { ...base.schedule, minLr: -1 } },
      }),
    ),
    /schedule\.minLr/,
  );
  await assert.rejects(
    train(
      job({ buildModel: counting, recipe: { ...base, augment: { hflip: 2 } } }),
    ),
    /augment\.hflip must be in \[0, 1\], got 2/,
  );
  assert.equal(built, 0);
  assert.equal(tf.memory().numTensors, before);
});

/** The tiny model run in inference mode: no batch statistics, no dropout. */
function withoutBatchStats(config: ModelConfig, seed: number): MerModel {
  const m = buildTinyModel(config, seed);
  return { ...m, apply: (x, o) => m.apply(x, { ...o, training: false }) };
}

Deno.test("microBatches cuts a batch into ranges of at most microBatchSize", () => {
  assert.deepEqual(microBatches(8, 3), [[0, 3], [3, 6], [6, 8]]);
  assert.deepEqual(microBatches(8), [[0, 8]]);
  assert.deepEqual(microBatches(8, 8), [[0, 8]]);
  assert.deepEqual(microBatches(5, 64), [[0, 5]]);
  assert.throws(
    () => microBatches(8, 0),
    /recipe\.microBatchSize must be an integer ≥ 1, got 0/,
  );
});

Deno.test("accumulated micro-batch gradients equal the full-batch mean-loss gradients (model without batch statistics)", async () => {
  const model = withoutBatchStats(tinyModelConfig({ dropout: 0 }), 5);
  const vars = [...model.params.values()];
  const batch = [0, 3, 5, 6, 8, 9, 10, 11];
  const labels = batch.map((i) => ds.classes.indexOf(trainSet[i].label));
  const lossOf = ([a, b]: [number, number]) =>
    crossEntropy(
      model.apply(stackBatch(trainSet, batch.slice(a, b)), {
        training: true,
        seed: 1,
      }).logits!,
      labels.slice(a, b),
    );
  const before = tf.memory().numTensors;
  const full = accumulatedGradients(microBatches(8), lossOf, vars);
  const micro = accumulatedGradients(microBatches(8, 3), lossOf, vars);
  assert.equal(micro.grads.size, vars.length);
  let maxDiff = 0, maxAbs = 0;
  for (const [name, g] of full.grads) {
    const a = await g.data(), b = await micro.grads.get(name)!.data();
    for (let i = 0; i < a.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      maxAbs = Math.max(maxAbs, Math.abs(a[i]));
    }
  }
  assert.ok(maxAbs > 1e-3, `gradients are not trivially zero (${maxAbs})`);
  assert.ok(maxDiff <= 1e-5, `max |Δgrad| ${maxDiff}`);
  const [lf, lm] = [
    (await full.value.data())[0],
    (await micro.value.data())[0],
  ];
  assert.ok(Math.abs(lf - lm) <= 1e-6, `loss ${lf} vs ${lm}`);
  tf.dispose([
    full.value,
    micro.value,
    ...full.grads.values(),
    ...micro.grads.values(),
  ]);
  assert.equal(tf.memory().numTensors, before, "no tensors leak");
  model.dispose();
});

Deno.test("train with microBatchSize = batchSize is bit-identical to no micro-batching; smaller ones are deterministic", async () => {
  const strip = (r: Awaited<ReturnType<typeof train>>) =>
    r.epochs.map(({ seconds: _s, ...rest }) => rest);
  const plain = await train(job());
  const same = await train(job({ recipe: recipe({ microBatchSize: 4 }) }));
  assert.deepStrictEqual(strip(same), strip(plain));
  assert.deepStrictEqual(same.predictions, plain.predictions);
  assert.deepStrictEqual(await weights(same.model), await weights(plain.model));
  const before = tf.memory().numTensors;
  const m1 = await train(job({ recipe: recipe({ microBatchSize: 3 }) }));
  const m2 = await train(job({ recipe: recipe({ microBatchSize: 3 }) }));
  assert.deepStrictEqual(strip(m1), strip(m2));
  assert.deepStrictEqual(await weights(m1.model), await weights(m2.model));
  // BatchNorm statistics are per micro-batch: with BN in training mode the
  // run differs from the full-batch one
  assert.notDeepStrictEqual(strip(m1), strip(plain));
  m1.model.dispose();
  m2.model.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensors leak");
  for (const r of [plain, same]) r.model.dispose();
});

Deno.test("train with micro-batches matches full-batch training for a model without batch statistics", async () => {
  const input = (microBatchSize?: number) =>
    job({
      modelConfig: tinyModelConfig({ dropout: 0 }),
      buildModel: withoutBatchStats,
      recipe: recipe({ epochs: 2, batchSize: 6, microBatchSize }),
    });
  const full = await train(input());
  const micro = await train(input(4));
  const wf = await weights(full.model), wm = await weights(micro.model);
  let maxDiff = 0;
  for (const k of Object.keys(wf)) {
    wf[k].forEach((x, i) =>
      maxDiff = Math.max(maxDiff, Math.abs(x - wm[k][i]))
    );
  }
  assert.ok(maxDiff <= 1e-4, `max |Δweight| after 2 epochs ${maxDiff}`);
  full.epochs.forEach((e, i) =>
    assert.ok(Math.abs(e.trainLoss - micro.epochs[i].trainLoss) <= 1e-5)
  );
  full.model.dispose();
  micro.model.dispose();
});

Deno.test("train.checkpoint reaches every training and inference pass and gives bit-identical losses and weights on a tiny MERba", async () => {
  const seen: (boolean | undefined)[] = [];
  const seenEval: (boolean | undefined)[] = [];
  const build = (cfg: ModelConfig, seed: number): MerModel => {
    const m = buildMerba(cfg, seed);
    const apply = m.apply.bind(m);
    m.apply = (x, options) => {
      (options?.training ? seen : seenEval).push(options?.checkpoint);
      return apply(x, options);
    };
    return m;
  };
  const run = async (checkpoint?: boolean) => {
    seen.length = 0;
    seenEval.length = 0;
    const r = await train(job({
      // the real MERba at 8×8 input: 2×2, 1×1, 1×1, 1×1 stage maps
      modelConfig: tinyModelConfig({ windowSize: 1 }),
      buildModel: build,
      recipe: recipe({
        epochs: 2,
        batchSize: 6,
        microBatchSize: 3,
        checkpoint,
      }),
    }));
    const out = {
      r,
      flags: [...seen],
      evalFlags: [...seenEval],
      w: await weights(r.model),
    };
    r.model.dispose();
    return out;
  };
  const plain = await run();
  const ckpt = await run(true);
  // 12 samples, batch 6 in micro-batches of 3: 4 passes per epoch
  assert.deepStrictEqual(plain.flags, Array(8).fill(false));
  assert.deepStrictEqual(ckpt.flags, Array(8).fill(true));
  // validation after each epoch and the test split: inference passes too
  assert.ok(ckpt.evalFlags.length >= 3);
  assert.deepStrictEqual(ckpt.evalFlags, ckpt.evalFlags.map(() => true));
  assert.deepStrictEqual(plain.evalFlags, ckpt.evalFlags.map(() => false));
  // the model guarantees the loss to 1e-6 (relative) and gradients to
  // 1e-4; the recomputation repeats the same kernels, so on one backend the
  // whole run is bit-identical
  const strip = (r: typeof plain.r) =>
    r.epochs.map(({ seconds: _s, ...rest }) => rest);
  assert.deepStrictEqual(strip(ckpt.r), strip(plain.r));
  assert.deepStrictEqual(ckpt.w, plain.w);
  assert.deepStrictEqual(ckpt.r.predictions, plain.r.predictions);
});

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`gradient sums on the host are bit-identical to the tensor sums (${backend}) and leave no gradient on the backend`, async () => {
    if (backend === "wasm") await initBackend("wasm");
    try {
      const model = buildTinyModel(tinyModelConfig({ dropout: 0 }), 5);
      const vars = [...model.params.values()];
      const batch = [0, 3, 5, 6, 8, 9, 10, 11];
      const labels = batch.map((i) => ds.classes.indexOf(trainSet[i].label));
      const lossOf = ([a, b]: [number, number]) =>
        crossEntropy(
          model.apply(stackBatch(trainSet, batch.slice(a, b)), {
            training: true,
            seed: 1,
          }).logits!,
          labels.slice(a, b),
        );
      const chunks = microBatches(8, 3);
      const dev = accumulatedGradients(chunks, lossOf, vars);
      const bytes = tf.memory().numBytes;
      const host = accumulatedGradientsOnHost(chunks, lossOf, vars);
      // only the loss scalar is left on the backend
      assert.equal(tf.memory().numBytes - bytes, 4);
      assert.deepStrictEqual(
        [...host.grads.keys()].sort(),
        [...dev.grads.keys()].sort(),
      );
      for (const [name, g] of dev.grads) {
        assert.deepStrictEqual(host.grads.get(name), g.dataSync(), name);
      }
      assert.equal(host.value.dataSync()[0], dev.value.dataSync()[0]);
      tf.dispose([dev.value, host.value, ...dev.grads.values()]);
      model.dispose();
    } finally {
      await tf.setBackend("cpu");
    }
  });
}

Deno.test("train on wasm (host moments and host gradient sums) is bit-identical across runs and leaks nothing", async () => {
  await initBackend("wasm");
  try {
    const strip = (r: Awaited<ReturnType<typeof train>>) =>
      r.epochs.map(({ seconds: _s, ...rest }) => rest);
    const input = () =>
      job({ recipe: recipe({ epochs: 2, batchSize: 6, microBatchSize: 4 }) });
    const before = tf.memory().numTensors;
    const a = await train(input());
    const b = await train(input());
    assert.deepStrictEqual(strip(a), strip(b));
    assert.deepStrictEqual(await weights(a.model), await weights(b.model));
    assert.ok(a.epochs.every((e) => Number.isFinite(e.trainLoss)));
    a.model.dispose();
    b.model.dispose();
    assert.equal(tf.memory().numTensors, before, "no tensors leak");
  } finally {
    await tf.setBackend("cpu");
  }
});
