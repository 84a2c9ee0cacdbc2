import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { hflipFlow } from "./augment.ts";
import { stackBatch } from "./batches.ts";
import { buildTinyModel, tinyFlowDataset, tinyModelConfig } from "./testing.ts";

await tf.setBackend("cpu");

Deno.test("tiny model: BatchNorm running stats follow PyTorch's momentum update", () => {
  const model = buildTinyModel(tinyModelConfig({ dropout: 0 }), 3);
  const ds = tinyFlowDataset({ perClass: 2 });
  const x = stackBatch(ds.samples, [0, 1, 2, 3]);
  // the pre-BN activations, computed by hand from the parameters
  const conv = tf.conv2d(
    x,
    model.params.get("stem.weight") as tf.Tensor4D,
    1,
    "same",
  )
    .add(model.params.get("stem.bias")!);
  const mean = conv.mean([0, 1, 2]).arraySync() as number[];
  const n = conv.size / 6;
  const varUnbiased = (conv.sub(conv.mean([0, 1, 2])).square().sum([0, 1, 2])
    .arraySync() as number[])
    .map((s) => s / (n - 1));
  tf.tidy(() => {
    model.apply(x, { training: true, seed: 5 });
  });
  const rm = model.buffers.get("bn.running_mean")!.arraySync() as number[];
  const rv = model.buffers.get("bn.running_var")!.arraySync() as number[];
  mean.forEach((m, c) => assert.ok(Math.abs(rm[c] - 0.1 * m) < 1e-6));
  varUnbiased.forEach((v, c) =>
    assert.ok(Math.abs(rv[c] - (0.9 + 0.1 * v)) < 1e-5)
  );
  assert.equal(model.buffers.get("bn.num_batches_tracked")!.arraySync(), 1);
  tf.dispose([x, conv]);
  model.dispose();
});

Deno.test("tiny model: seeded training passes repeat, seeds differ, eval is deterministic", () => {
  const model = buildTinyModel(tinyModelConfig({ dropout: 0.5 }), 1);
  const ds = tinyFlowDataset({ perClass: 2 });
  const x = stackBatch(ds.samples, [0, 1, 2, 3, 4, 5]);
  const run = (seed: number) =>
    tf.tidy(
      () => [...model.apply(x, { training: true, seed }).logits!.dataSync()],
    );
  assert.deepStrictEqual(run(7), run(7));
  assert.notDeepStrictEqual(run(7), run(8));
  const ev = () =>
    tf.tidy(() => [...model.apply(x, { training: false }).logits!.dataSync()]);
  assert.deepStrictEqual(ev(), ev());
  assert.throws(
    () => model.apply(x, { training: true }),
    /needs options\.seed/,
  );
  const bad = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
  assert.throws(
    () => model.apply(bad, { training: false }),
    /3 channels, config\.inChannels is 2/,
  );
  tf.dispose([x, bad]);
  // 3·3·2·6 + 6 (conv) + 12 (bn) + 6·3 + 3 (head)
  assert.equal(model.numParams(), 108 + 6 + 12 + 18 + 3);
  model.dispose();
});

Deno.test("tiny model: the same seed builds the same weights; DGCM has coarse and fine heads", () => {
  const a = buildTinyModel(tinyModelConfig(), 4),
    b = buildTinyModel(tinyModelConfig(), 4);
  const c = buildTinyModel(tinyModelConfig(), 5);
  const w = (m: typeof a) => [...m.params.get("stem.weight")!.dataSync()];
  assert.deepStrictEqual(w(a), w(b));
  assert.notDeepStrictEqual(w(a), w(c));
  const d = buildTinyModel(tinyModelConfig({ head: "dgcm" }), 4);
  const out = tf.tidy(() => {
    const o = d.apply(tf.zeros([2, 8, 8, 2]), { training: false });
    return [o.coarse!.shape, o.fine!.shape];
  });
  assert.deepStrictEqual(out, [[2, 4], [2, 4]]);
  for (const m of [a, b, c, d]) m.dispose();
});

Deno.test("tiny dataset: seeded, interleaved labels, and its signal is flip-invariant", () => {
  const a = tinyFlowDataset({ perClass: 3, seed: 2 }),
    b = tinyFlowDataset({ perClass: 3, seed: 2 });
  assert.deepStrictEqual(a, b);
  assert.deepStrictEqual(a.samples.map((s) => s.label).slice(0, 4), [
    "negative",
    "positive",
    "surprise",
    "negative",
  ]);
  assert.equal(a.samples[5].subject, "tiny/s1");
  const clean = tinyFlowDataset({
    perClass: 1,
    noise: 0,
    size: 6,
    channels: 3,
  });
  const x = stackBatch(clean.samples, [0, 1, 2]);
  const flipped = hflipFlow(x, [true, true, true]);
  const d = tf.max(tf.abs(tf.sub(flipped, x))).dataSync()[0];
  assert.ok(d < 1e-6, `max |flip(x) − x| = ${d}`);
  tf.dispose([x, flipped]);
});
