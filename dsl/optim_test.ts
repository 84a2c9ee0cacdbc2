import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { AdamW, decaysParameter } from "./optim.ts";
import type { OptimizerSettings } from "./engine_types.ts";

await tf.setBackend("cpu");

interface Reference {
  settings: OptimizerSettings;
  init: Record<string, number[] | number[][]>;
  steps: {
    lr: number;
    grads: Record<string, number[] | number[][]>;
    after: Record<string, number[] | number[][]>;
  }[];
}

const reference: Reference = JSON.parse(
  await Deno.readTextFile(
    new URL("./testdata/adamw_reference.json", import.meta.url),
  ),
);

function maxAbsDiff(a: tf.Tensor, b: number[] | number[][]): number {
  const x = a.dataSync();
  const y = (b as number[]).flat();
  assert.equal(x.length, y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

Deno.test("decaysParameter excludes rank ≤ 1 and A_log parameters", () => {
  assert.equal(decaysParameter("stem.0.weight", 4), true);
  assert.equal(decaysParameter("head.weight", 2), true);
  assert.equal(decaysParameter("head.bias", 1), false);
  assert.equal(decaysParameter("levels.1.blocks.0.gamma_1", 1), false);
  assert.equal(decaysParameter("levels.1.blocks.0.mixer.D", 1), false);
  assert.equal(decaysParameter("levels.1.blocks.0.mixer.A_log", 2), false);
  assert.equal(decaysParameter("scalar", 0), false);
});

Deno.test("AdamW matches torch.optim.AdamW over 5 steps with per-step lr and a skipped grad", () => {
  const before = tf.memory().numTensors;
  const params = new Map<string, tf.Variable>(
    Object.entries(reference.init).map((
      [k, v],
    ) => [
      k,
      tf.tidy(() => tf.variable(tf.tensor(v), true, `adamw_ref_${k}`)),
    ]),
  );
  const opt = new AdamW(params, reference.settings);
  assert.equal(opt.decays("w"), true);
  assert.equal(opt.decays("b"), false);
  assert.equal(opt.decays("mixer.A_log"), false);
  for (const [i, step] of reference.steps.entries()) {
    opt.lr = step.lr;
    const grads = new Map(
      Object.entries(step.grads).map(([k, g]) => [k, tf.tensor(g)]),
    );
    opt.step(grads);
    grads.forEach((g) => g.dispose());
    for (const [k, expected] of Object.entries(step.after)) {
      const d = maxAbsDiff(params.get(k)!, expected);
      assert.ok(d < 2e-6, `step ${i + 1} param ${k}: max |Δ| = ${d}`);
    }
  }
  assert.equal(opt.stepsOf("w"), 5);
  assert.equal(opt.stepsOf("b"), 4); // skipped on step 3, like PyTorch
  opt.dispose();
  params.forEach((p) => p.dispose());
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("AdamW first step equals a hand-computed update", () => {
  // t = 1: m̂ = g, v̂ = g², so p ← p(1 − lr·wd) − lr·g/(|g| + ε).
  const w = tf.variable(tf.tensor2d([[2, -1]]), true, "adamw_hand_w");
  const b = tf.variable(tf.tensor1d([3]), true, "adamw_hand_b");
  const opt = new AdamW(new Map<string, tf.Variable>([["w", w], ["b", b]]), {
    lr: 0.1,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0.5,
  });
  opt.step({ w: tf.tensor2d([[0.5, -2]]), b: tf.tensor1d([4]) });
  const got = w.dataSync();
  assert.ok(Math.abs(got[0] - (2 * 0.95 - 0.1)) < 1e-6);
  assert.ok(Math.abs(got[1] - (-1 * 0.95 + 0.1)) < 1e-6);
  assert.ok(Math.abs(b.dataSync()[0] - (3 - 0.1)) < 1e-6); // no decay
  opt.dispose();
  w.dispose();
  b.dispose();
});

Deno.test("AdamW rejects bad settings and mismatched gradients by name", () => {
  const w = tf.variable(tf.zeros([2, 2]), true, "adamw_bad_w");
  const params = new Map([["w", w]]);
  const ok: OptimizerSettings = {
    lr: 1e-3,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0.05,
  };
  assert.throws(() => new AdamW(params, { ...ok, lr: -1 }), /optimizer\.lr/);
  assert.throws(
    () => new AdamW(params, { ...ok, betas: [0.9, 1] }),
    /optimizer\.betas/,
  );
  assert.throws(() => new AdamW(params, { ...ok, eps: 0 }), /optimizer\.eps/);
  const opt = new AdamW(params, ok);
  const g = tf.zeros([3]);
  assert.throws(() => opt.step({ w: g }), /"w".*\[3\].*\[2,2\]/);
  assert.throws(() => opt.step({ nope: g }), /unknown parameter "nope"/);
  g.dispose();
  opt.dispose();
  w.dispose();
});

Deno.test("AdamW checks every gradient before updating any parameter", () => {
  const a = tf.variable(tf.ones([2]), true, "adamw_atomic_a");
  const b = tf.variable(tf.ones([2, 2]), true, "adamw_atomic_b");
  const opt = new AdamW(new Map<string, tf.Variable>([["a", a], ["b", b]]), {
    lr: 0.1,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0,
  });
  const ga = tf.ones([2]), gb = tf.ones([3]);
  assert.throws(() => opt.step(new Map([["a", ga], ["b", gb]])), /"b"/);
  assert.deepStrictEqual([...a.dataSync()], [1, 1]);
  assert.equal(opt.stepsOf("a"), 0);
  tf.dispose([a, b, ga, gb]);
  opt.dispose();
});
