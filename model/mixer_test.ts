import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { registerKernels } from "./backend/register.ts";
import {
  declareMixer,
  depthwiseConv1dSame,
  mixer,
  mixerSizes,
} from "./mixer.ts";
import {
  assertAllClose,
  evalCtx,
  storeWith,
  values,
} from "./layers/testing_util.ts";
import type { MixerConfig } from "./types.ts";

await tf.setBackend("cpu");
registerKernels();

const CFG: MixerConfig = { dState: 4, dConv: 3, expand: 1, dtBiasTwice: true };

Deno.test("depthwiseConv1dSame matches PyTorch 'same' padding (left ⌊(K−1)/2⌋) for odd and even kernels", () => {
  for (const k of [3, 4]) {
    const [b, l, c] = [2, 6, 3];
    const x = tf.tensor3d(values(b * l * c, k), [b, l, c]);
    const w = tf.tensor2d(values(k * c, 10 + k), [k, c]);
    const got = depthwiseConv1dSame(x, w).dataSync();
    const xv = x.dataSync(), wv = w.dataSync();
    const left = Math.floor((k - 1) / 2);
    const exp: number[] = [];
    for (let n = 0; n < b; n++) {
      for (let t = 0; t < l; t++) {
        for (let ch = 0; ch < c; ch++) {
          let acc = 0;
          for (let j = 0; j < k; j++) {
            const s = t - left + j;
            if (s >= 0 && s < l) {
              acc += xv[(n * l + s) * c + ch] * wv[j * c + ch];
            }
          }
          exp.push(acc);
        }
      }
    }
    assertAllClose(got, exp, 1e-6, `K=${k}`);
  }
});

Deno.test("mixer sizes follow the reference (dt_rank = ⌈C/16⌉, x/z halves of d_inner)", () => {
  assert.deepEqual(mixerSizes(256, { ...CFG, expand: 1 }), {
    dInner: 256,
    half: 128,
    dtRank: 16,
  });
  assert.deepEqual(mixerSizes(40, { ...CFG, expand: 2 }), {
    dInner: 80,
    half: 40,
    dtRank: 3,
  });
});

Deno.test("mixer gradients (input and in_proj weight) match central finite differences", () => {
  const s = storeWith((st) => declareMixer(st, "m", 8, CFG), 3);
  const ctx = evalCtx(s);
  const x = tf.tensor3d(values(2 * 5 * 8, 4), [2, 5, 8]);
  const proj = tf.tensor3d(values(2 * 5 * 8, 5), [2, 5, 8]);
  const loss = (xx: tf.Tensor3D) =>
    tf.sum(tf.mul(mixer(ctx, "m", xx, CFG), proj)) as tf.Scalar;
  const w = s.get("m.in_proj.weight");
  const { grads } = tf.variableGrads(() => loss(x), [w]);
  const gx = tf.grad((xx: tf.Tensor) => loss(xx as tf.Tensor3D))(x).dataSync();
  const gw = grads[w.name].dataSync();
  const eps = 1e-2;
  const xv = x.dataSync().slice();
  for (const i of [0, 13, 47, 79]) {
    const plus = xv.slice(), minus = xv.slice();
    plus[i] += eps;
    minus[i] -= eps;
    const fd = (loss(tf.tensor3d(plus, [2, 5, 8])).dataSync()[0] -
      loss(tf.tensor3d(minus, [2, 5, 8])).dataSync()[0]) / (2 * eps);
    assert.ok(
      Math.abs(fd - gx[i]) < 2e-2 * Math.max(1, Math.abs(fd)),
      `dx[${i}]: fd ${fd} vs ${gx[i]}`,
    );
  }
  const wv = w.dataSync().slice();
  for (const i of [0, 9, 33, 63]) {
    const at = (delta: number) => {
      const v = wv.slice();
      v[i] += delta;
      w.assign(tf.tensor(v, w.shape));
      return loss(x).dataSync()[0];
    };
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    w.assign(tf.tensor(wv, w.shape));
    assert.ok(
      Math.abs(fd - gw[i]) < 2e-2 * Math.max(1, Math.abs(fd)),
      `dW[${i}]: fd ${fd} vs ${gw[i]}`,
    );
  }
});
