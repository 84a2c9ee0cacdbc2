/**
 * Test helper run in a fresh process: three seeded AdamW training steps of
 * a tiny MERba on the backend named by argv[0] (threads from argv[1]);
 * prints one JSON line with the backend's info and a SHA-256 of every
 * parameter's bytes and of the losses.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { buildModel, initBackend, merbaBase } from "../../model/mod.ts";
import { TINY_MODEL } from "../../model/testdata/tiny_config.ts";
import { AdamW } from "../../train/optim.ts";
import { dgcmLoss } from "../../train/losses.ts";

const [backend, threads] = Deno.args;
const info = await initBackend(backend as "tensorflow", {
  threads: Number(threads ?? 1),
});
const config = merbaBase({
  ...TINY_MODEL,
  depths: [1, 1, 2, 1],
  dropout: 0.2,
  dropPath: 0.2,
});
const model = buildModel(config, 11);
const x = tf.randomUniform([4, 56, 56, 2], -1, 1, "float32", 5) as tf.Tensor4D;
const coarse = [0, 1, 2, 0], fine = [1, null, null, 3];
const opt = new AdamW(model.params, {
  lr: 1e-3,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weightDecay: 0.05,
});
const keyOf = new Map([...model.params].map(([k, v]) => [v.name, k]));
const losses: number[] = [];
for (let step = 0; step < 3; step++) {
  const { value, grads } = tf.variableGrads(() => {
    const o = model.apply(x, { training: true, seed: 100 + step });
    return dgcmLoss(o.coarse!, o.fine!, coarse, fine, 0.5);
  }, [...model.params.values()]);
  const named = new Map<string, tf.Tensor>();
  for (const [n, g] of Object.entries(grads)) named.set(keyOf.get(n)!, g);
  opt.step(named);
  losses.push((await value.data())[0]);
  tf.dispose([value, ...Object.values(grads)]);
}
const parts: Uint8Array[] = [new Uint8Array(new Float64Array(losses).buffer)];
for (const k of [...model.params.keys()].sort()) {
  const v = await model.params.get(k)!.data() as Float32Array;
  parts.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
}
const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
let o = 0;
for (const p of parts) {
  all.set(p, o);
  o += p.length;
}
const hash = Array.from(
  new Uint8Array(await crypto.subtle.digest("SHA-256", all)),
).map((b) => b.toString(16).padStart(2, "0")).join("");
console.log(JSON.stringify({ backend: info.name, threads: info.threads, losses, hash }));
