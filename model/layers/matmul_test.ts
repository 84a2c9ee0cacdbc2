import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend/runtime.ts";
import { matMul } from "./matmul.ts";
import { assertAllClose, values } from "./testing_util.ts";

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`matMul (${backend}): values and both gradients equal tf.matMul's for rank 2 and batched rank 3`, async () => {
    await initBackend(backend);
    for (const [sa, sb] of [[[5, 7], [7, 3]], [[2, 4, 6], [2, 6, 5]]]) {
      const a = tf.tensor(values(sa.reduce((p, q) => p * q, 1), 1), sa);
      const b = tf.tensor(values(sb.reduce((p, q) => p * q, 1), 2), sb);
      const dy = tf.tensor(
        values(
          sa.slice(0, -1).reduce((p, q) => p * q, 1) * sb[sb.length - 1],
          3,
        ),
        [...sa.slice(0, -1), sb[sb.length - 1]],
      );
      const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        matMul(x as tf.Tensor2D, y as tf.Tensor2D)
      );
      const ref = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D)
      );
      assertAllClose(
        matMul(a as tf.Tensor2D, b as tf.Tensor2D).dataSync(),
        tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D).dataSync(),
        1e-5,
        "value",
      );
      const [ga, gb] = ours([a, b], dy);
      const [ra, rb] = ref([a, b], dy);
      assert.deepEqual(ga.shape, ra.shape);
      assertAllClose(ga.dataSync(), ra.dataSync(), 1e-5, "da");
      assertAllClose(gb.dataSync(), rb.dataSync(), 1e-5, "db");
    }
    assert.throws(
      () =>
        matMul(
          tf.zeros([2, 2]) as tf.Tensor2D,
          tf.zeros([1, 2, 2]) as unknown as tf.Tensor2D,
        ),
      /two rank-2 or two rank-3/,
    );
  });
}
