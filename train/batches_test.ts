import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import {
  checkSamples,
  epochOrder,
  labelIndices,
  splitBatches,
  stackBatch,
} from "./batches.ts";
import { Rng } from "./rng.ts";
import { tinyFlowDataset } from "./testing.ts";

await tf.setBackend("cpu");

Deno.test("splitBatches keeps a partial last batch and merges a singleton", () => {
  const order = [4, 2, 0, 1, 3, 6, 5];
  assert.deepStrictEqual(splitBatches(order, 3), [
    [4, 2, 0, 1, 3, 6, 5].slice(0, 3),
    [1, 3, 6, 5],
  ]);
  assert.deepStrictEqual(splitBatches(order.slice(0, 5), 3), [[4, 2, 0], [
    1,
    3,
  ]]);
  assert.deepStrictEqual(splitBatches(order, 3, false), [[4, 2, 0], [1, 3, 6], [
    5,
  ]]);
  assert.deepStrictEqual(splitBatches([7], 3), [[7]]);
  assert.deepStrictEqual(splitBatches([], 3), []);
  assert.throws(() => splitBatches(order, 0), /batchSize.*0/);
});

Deno.test("epochOrder is a seeded permutation that changes between epochs", () => {
  const a = new Rng(3), b = new Rng(3);
  const e1 = epochOrder(10, a), e2 = epochOrder(10, a);
  assert.deepStrictEqual(e1, epochOrder(10, b));
  assert.deepStrictEqual(e2, epochOrder(10, b));
  assert.notDeepStrictEqual(e1, e2);
  assert.deepStrictEqual([...e1].sort((x, y) => x - y), [...Array(10).keys()]);
});

Deno.test("stackBatch lays samples out as NHWC in batch order", () => {
  const ds = tinyFlowDataset({ perClass: 1, size: 3, channels: 2 });
  const x = stackBatch(ds.samples, [2, 0]);
  assert.deepStrictEqual(x.shape, [2, 3, 3, 2]);
  const v = x.dataSync();
  // element (b=0, y=1, x=2, c=1) is sample 2's data[(1*3+2)*2+1]
  assert.equal(v[(1 * 3 + 2) * 2 + 1], ds.samples[2].data[(1 * 3 + 2) * 2 + 1]);
  assert.equal(v[18 + 5], ds.samples[0].data[5]);
  x.dispose();
  assert.throws(() => stackBatch(ds.samples, [9]), /index 9/);
});

Deno.test("checkSamples and labelIndices name the offending sample", () => {
  const ds = tinyFlowDataset({ perClass: 1, size: 4 });
  assert.deepStrictEqual([...labelIndices(ds.samples, ds.classes, "train")], [
    0,
    1,
    2,
  ]);
  assert.throws(
    () => labelIndices(ds.samples, ["negative", "positive"], "train"),
    /train sample "tiny\/2" has label "surprise"/,
  );
  checkSamples(ds.samples, { height: 4, width: 4, channels: 2 }, "train");
  assert.throws(
    () =>
      checkSamples(ds.samples, { height: 8, width: 8, channels: 2 }, "testA"),
    /testA sample "tiny\/0" is 4×4×2, expected 8×8×2/,
  );
  const bad = [{ ...ds.samples[0], data: new Float32Array(3) }];
  assert.throws(
    () => checkSamples(bad, { height: 4, width: 4, channels: 2 }, "train"),
    /"tiny\/0" has 3 data values, expected 32/,
  );
});
