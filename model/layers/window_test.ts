import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  padToWindow,
  windowPadding,
  windowPartition,
  windowReverse,
} from "./window.ts";
import { values } from "./testing_util.ts";

await tf.setBackend("cpu");

Deno.test("windowPartition: windows row-major over the map, tokens row-major inside each window (naive indexing)", () => {
  const [b, h, w, c, ws] = [2, 4, 6, 3, 2];
  const x = tf.tensor4d(values(b * h * w * c, 1), [b, h, w, c]);
  const got = windowPartition(x, ws);
  assert.deepEqual(got.shape, [b * 2 * 3, 4, c]);
  const xv = x.dataSync(), gv = got.dataSync();
  let k = 0;
  for (let n = 0; n < b; n++) {
    for (let wy = 0; wy < h / ws; wy++) {
      for (let wx = 0; wx < w / ws; wx++) {
        for (let ty = 0; ty < ws; ty++) {
          for (let tx = 0; tx < ws; tx++) {
            for (let ch = 0; ch < c; ch++) {
              const y = wy * ws + ty, xx = wx * ws + tx;
              assert.equal(gv[k++], xv[((n * h + y) * w + xx) * c + ch]);
            }
          }
        }
      }
    }
  }
  assert.deepEqual(windowReverse(got, ws, h, w).dataSync(), xv);
  assert.throws(() => windowPartition(x, 4), /does not tile the 4×6 map/);
});

Deno.test("padToWindow pads right/bottom with zeros only when needed", () => {
  assert.deepEqual(windowPadding(3, 5, 2), { padBottom: 1, padRight: 1 });
  assert.deepEqual(windowPadding(4, 4, 2), { padBottom: 0, padRight: 0 });
  const x = tf.ones([1, 3, 5, 1]) as tf.Tensor4D;
  const p = padToWindow(x, 2);
  assert.deepEqual(p.shape, [1, 4, 6, 1]);
  const v = p.dataSync();
  assert.equal(v[5], 0); // row 0, col 5
  assert.equal(v[3 * 6], 0); // row 3, col 0
  assert.equal(v[2 * 6 + 4], 1);
  assert.equal(padToWindow(x, 1), x);
});
