import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { drawFlips, hflipFlow, randomHFlip } from "./augment.ts";
import { Rng } from "./rng.ts";

await tf.setBackend("cpu");

function batch(): tf.Tensor4D {
  // B=2, H=2, W=3, C=3 with distinct values
  return tf.tensor4d(Array.from({ length: 36 }, (_, i) => i + 1), [2, 2, 3, 3]);
}

Deno.test("hflipFlow mirrors W, negates u only, and leaves unflagged samples", () => {
  const x = batch();
  const y = hflipFlow(x, [true, false]);
  const xv = x.arraySync(), yv = y.arraySync();
  for (let h = 0; h < 2; h++) {
    for (let w = 0; w < 3; w++) {
      assert.equal(yv[0][h][w][0], -xv[0][h][2 - w][0]); // u negated, mirrored
      assert.equal(yv[0][h][w][1], xv[0][h][2 - w][1]); // v mirrored
      assert.equal(yv[0][h][w][2], xv[0][h][2 - w][2]); // strain mirrored
    }
  }
  assert.deepStrictEqual(yv[1], xv[1]);
  tf.dispose([x, y]);
});

Deno.test("hflipFlow twice is the identity", () => {
  const x = batch();
  const once = hflipFlow(x, [true, true]);
  const twice = hflipFlow(once, [true, true]);
  assert.deepStrictEqual(twice.arraySync(), x.arraySync());
  assert.notDeepStrictEqual(once.arraySync(), x.arraySync());
  tf.dispose([x, once, twice]);
});

Deno.test("randomHFlip follows the augment stream and p", () => {
  const before = tf.memory().numTensors;
  const flags = drawFlips(1000, 0.5, new Rng(8));
  const frac = flags.filter(Boolean).length / 1000;
  assert.ok(Math.abs(frac - 0.5) < 0.06, `${frac}`);
  assert.ok(drawFlips(50, 0, new Rng(1)).every((f) => !f));
  assert.ok(drawFlips(50, 1, new Rng(1)).every((f) => f));
  const x = batch();
  const a = randomHFlip(x, 0.5, new Rng(4));
  const b = hflipFlow(x, drawFlips(2, 0.5, new Rng(4)));
  assert.deepStrictEqual(a.arraySync(), b.arraySync());
  assert.throws(() => drawFlips(2, 1.5, new Rng(1)), /augment\.hflip.*1\.5/);
  tf.dispose([x, a, b]);
  assert.equal(tf.memory().numTensors, before);
});
