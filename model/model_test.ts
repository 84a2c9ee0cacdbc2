import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mambaVisionB, merbaBase } from "./config.ts";
import { buildModel, dropPathSchedule } from "./model.ts";
import { initBackend, registerKernels } from "./backend/runtime.ts";
import type { ModelConfig } from "./types.ts";
import { TINY_MODEL } from "./testdata/tiny_config.ts";

registerKernels();

const TINY = TINY_MODEL;
const MERBA = merbaBase({ ...TINY, dropout: 0.5, dropPath: 0.5 });
const MV = mambaVisionB({
  ...TINY,
  depths: [1, 1, 2, 3],
  attentionDepths: [0, 0, 0, 0],
  windowSize: [4, 4, 2, 2],
});

function input(b: number, c: ModelConfig, seed: number): tf.Tensor4D {
  const s = c.inputSize as number;
  return tf.randomUniform(
    [b, s, s, c.inChannels],
    -1,
    1,
    "float32",
    seed,
  ) as tf.Tensor4D;
}

Deno.test("drop path rates rise linearly from 0 to dropPath over all blocks in execution order", () => {
  const r = dropPathSchedule(merbaBase({ dropPath: 0.3 }));
  assert.deepEqual(r.map((s) => s.length), [3, 3, 10, 5]);
  const flat = r.flat();
  assert.equal(flat[0], 0);
  assert.ok(Math.abs(flat[flat.length - 1] - 0.3) < 1e-12);
  for (let i = 1; i < flat.length; i++) {
    assert.ok(Math.abs(flat[i] - flat[i - 1] - 0.3 / 20) < 1e-12);
  }
});

Deno.test("training passes are reproducible: same seed bit-identical, another seed differs; eval ignores the seed", async () => {
  await tf.setBackend("cpu");
  const m = buildModel(MERBA, 3);
  const x = input(4, MERBA, 1);
  const run = (o: Parameters<typeof m.apply>[1]) => {
    const out = m.apply(x, o);
    const v = Array.from(out.coarse!.dataSync()).concat(
      Array.from(out.fine!.dataSync()),
    );
    tf.dispose(out as unknown as tf.Tensor[]);
    return v;
  };
  const a = run({ training: true, seed: 10 });
  const b = run({ training: true, seed: 10 });
  const c = run({ training: true, seed: 11 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.deepEqual(run({ training: false, seed: 1 }), run({ training: false }));
  assert.throws(() => m.apply(x, { training: true }), /ForwardOptions.seed/);
  m.dispose();
});

Deno.test("input shape errors name inputSize and inChannels; features are per-stage NHWC maps", async () => {
  await tf.setBackend("cpu");
  const m = buildModel(MV, 1);
  assert.throws(
    () => m.apply(tf.zeros([1, 56, 56, 3]) as tf.Tensor4D, { training: false }),
    /expected NHWC \[B, 56, 56, 2\] \(inputSize, inChannels\), got \[1,56,56,3\]/,
  );
  const out = m.apply(input(1, MV, 2), { training: false, features: true });
  assert.deepEqual(out.features!.map((f) => f.shape), [
    [1, 14, 14, 8],
    [1, 7, 7, 16],
    [1, 4, 4, 16],
    [1, 2, 2, 32],
  ]);
  assert.deepEqual(out.logits!.shape, [1, 7]);
  m.dispose();
});

for (const [name, cfg] of [["MERba", MERBA], ["MambaVision", MV]] as const) {
  Deno.test(`${name}: on wasm every parameter gets a finite, non-zero gradient and a seeded SGD step in optimizer.minimize updates BN running stats without leaking tensors`, async () => {
    await initBackend("wasm");
    const m = buildModel(cfg, 5);
    const x = input(2, cfg, 3);
    const lossFn = (seed: number) => () => {
      const o = m.apply(x, { training: true, seed });
      const l = o.logits ?? tf.add(o.coarse!, o.fine!);
      return tf.mean(tf.square(tf.sub(l, 1))) as tf.Scalar;
    };
    const { value, grads } = tf.variableGrads(lossFn(0));
    const byName = new Map([...m.params].map(([k, v]) => [v.name, k]));
    assert.deepEqual(
      Object.keys(grads).map((g) => byName.get(g)).sort(),
      [...m.params.keys()].sort(),
    );
    const zero: string[] = [];
    for (const [g, t] of Object.entries(grads)) {
      const v = t.dataSync();
      assert.ok(
        v.every(Number.isFinite),
        `${byName.get(g)}: non-finite gradient`,
      );
      if (v.every((e) => e === 0)) zero.push(byName.get(g)!);
    }
    // a conv bias right before a BatchNorm in training mode has no effect, hence no gradient
    assert.deepEqual(
      zero.filter((k) => !/blocks\.\d+\.conv[12]\.bias$/.test(k)),
      [],
    );
    tf.dispose([value, ...Object.values(grads)]);

    const rm0 = m.buffers.get("levels.0.blocks.0.norm1.running_mean")!
      .dataSync().slice();
    const w0 = m.params.get(
      cfg.head === "linear" ? "head.weight" : "head_coarse.weight",
    )!.dataSync().slice();
    const opt = tf.train.sgd(0.1);
    const n0 = tf.memory().numTensors;
    for (let step = 0; step < 2; step++) {
      const loss = opt.minimize(lossFn(step), true);
      assert.ok(Number.isFinite(loss!.dataSync()[0]));
      loss!.dispose();
    }
    assert.equal(tf.memory().numTensors, n0, "tensors leaked");
    assert.notDeepEqual(
      m.params.get(
        cfg.head === "linear" ? "head.weight" : "head_coarse.weight",
      )!.dataSync(),
      w0,
    );
    assert.notDeepEqual(
      m.buffers.get("levels.0.blocks.0.norm1.running_mean")!.dataSync(),
      rm0,
    );
    assert.equal(m.buffers.get("norm.num_batches_tracked")!.dataSync()[0], 3); // variableGrads + 2 steps
    opt.dispose();
    m.dispose();
  });
}

for (const [name, cfg] of [["MERba", MERBA], ["MambaVision", MV]] as const) {
  Deno.test(`${name}: gradient checkpointing gives the same loss and gradients while keeping fewer tensors alive`, async () => {
    await initBackend("wasm");
    const m = buildModel(cfg, 8);
    const x = input(2, cfg, 4);
    const run = (checkpoint: boolean) => {
      let alive = 0;
      const { value, grads } = tf.variableGrads(() => {
        const o = m.apply(x, { training: true, seed: 2, checkpoint });
        alive = tf.memory().numBytes;
        const l = o.logits ?? tf.add(o.coarse!, o.fine!);
        return tf.mean(tf.square(tf.sub(l, 1))) as tf.Scalar;
      });
      const out = {
        loss: value.dataSync()[0],
        grads: new Map(
          Object.entries(grads).map(([k, g]) => [k, g.dataSync().slice()]),
        ),
        alive,
      };
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const plain = run(false);
    const n0 = tf.memory().numTensors;
    const ckpt = run(true);
    assert.equal(tf.memory().numTensors, n0, "tensors leaked");
    assert.ok(Math.abs(plain.loss - ckpt.loss) <= 1e-6 * Math.abs(plain.loss));
    assert.deepEqual(
      [...ckpt.grads.keys()].sort(),
      [...plain.grads.keys()].sort(),
    );
    for (const [k, g] of plain.grads) {
      const h = ckpt.grads.get(k)!;
      let worst = 0, scale = 1e-12;
      for (let i = 0; i < g.length; i++) {
        worst = Math.max(worst, Math.abs(g[i] - h[i]));
        scale = Math.max(scale, Math.abs(g[i]));
      }
      assert.ok(
        worst <= 1e-4 * scale + 1e-9,
        `${k}: max |diff| ${worst} (scale ${scale})`,
      );
    }
    assert.ok(
      ckpt.alive < plain.alive,
      `bytes alive after forward: ${ckpt.alive} vs ${plain.alive}`,
    );
    m.dispose();
  });
}
