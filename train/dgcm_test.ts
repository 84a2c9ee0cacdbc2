import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { EMOTIONS_7 } from "../data/types.ts";
import { DGCM_COARSE, DGCM_FINE, dgcmDecision, dgcmTargets } from "./dgcm.ts";

await tf.setBackend("cpu");
const idx = (e: string) => EMOTIONS_7.indexOf(e as typeof EMOTIONS_7[number]);

Deno.test("dgcmTargets maps every EMOTIONS_7 label to its coarse class and, for negatives, its fine class", () => {
  assert.deepEqual([...DGCM_COARSE], [
    "negative",
    "positive",
    "surprise",
    "others",
  ]);
  assert.deepEqual([...DGCM_FINE], ["anger", "disgust", "fear", "sadness"]);
  const expected: Record<string, { coarse: number; fine: number | null }> = {
    anger: { coarse: 0, fine: 0 },
    contempt: { coarse: 3, fine: null },
    disgust: { coarse: 0, fine: 1 },
    fear: { coarse: 0, fine: 2 },
    happiness: { coarse: 1, fine: null },
    sadness: { coarse: 0, fine: 3 },
    surprise: { coarse: 2, fine: null },
  };
  for (const e of EMOTIONS_7) {
    assert.deepEqual(dgcmTargets(idx(e)), expected[e], e);
  }
  assert.throws(
    () => dgcmTargets(7),
    /label7 must be an index into EMOTIONS_7 \(0..6\), got 7/,
  );
  assert.throws(() => dgcmTargets(-1), /got -1/);
});

Deno.test("dgcmDecision: coarse argmax decides, negative defers to the fine argmax", () => {
  const coarse = tf.tensor2d([
    [5, 0, 0, 0], // negative → fine
    [5, 0, 0, 0],
    [0, 5, 0, 0], // positive → happiness
    [0, 0, 5, 0], // surprise
    [0, 0, 0, 5], // others → contempt
    [9, 0, 0, 0],
  ]);
  const fine = tf.tensor2d([
    [0, 0, 0, 1], // sadness
    [0, 1, 0, 0], // disgust
    [0, 0, 9, 0], // ignored
    [9, 0, 0, 0],
    [0, 0, 9, 0],
    [0, 0, 2, 1], // fear
  ]);
  const d = dgcmDecision(coarse, fine);
  assert.equal(d.dtype, "int32");
  assert.deepEqual(
    Array.from(d.dataSync(), (i) => EMOTIONS_7[i]),
    ["sadness", "disgust", "happiness", "surprise", "contempt", "fear"],
  );
  // every decision agrees with dgcmTargets: a confident sample round-trips
  for (let label = 0; label < 7; label++) {
    const t = dgcmTargets(label);
    const c = tf.oneHot([t.coarse], 4).toFloat() as tf.Tensor2D;
    const f = tf.oneHot([t.fine ?? 0], 4).toFloat() as tf.Tensor2D;
    assert.equal(dgcmDecision(c, f).dataSync()[0], label);
  }
  assert.throws(
    () => dgcmDecision(tf.zeros([2, 3]), tf.zeros([2, 4])),
    /\[B, 4\]/,
  );
});
