import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { AdamW, decaysParameter } from "./optim.ts";
import type { OptimizerSettings } from "./types.ts";
import { initBackend } from "../model/mod.ts";

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

/** The previous AdamW step: every parameter updated inside ONE tidy. */
function wholeModelStep(
  params: Map<string, tf.Variable>,
  state: Map<string, { m: tf.Variable; v: tf.Variable; t: number }>,
  grads: Map<string, tf.Tensor>,
  s: OptimizerSettings,
  lr: number,
): void {
  const [b1, b2] = s.betas;
  tf.tidy(() => {
    for (const [name, g] of grads) {
      const p = params.get(name)!;
      let st = state.get(name);
      if (!st) {
        st = {
          m: tf.variable(tf.zerosLike(p), false),
          v: tf.variable(tf.zerosLike(p), false),
          t: 0,
        };
        state.set(name, st);
      }
      st.t += 1;
      const base = decaysParameter(name, p.rank) && s.weightDecay > 0
        ? p.mul(tf.scalar(1 - lr * s.weightDecay))
        : p;
      const m = st.m.mul(tf.scalar(b1)).add(g.mul(tf.scalar(1 - b1)));
      const v = st.v.mul(tf.scalar(b2)).add(g.mul(g).mul(tf.scalar(1 - b2)));
      const denom = v.sqrt().div(tf.scalar(Math.sqrt(1 - b2 ** st.t))).add(
        tf.scalar(s.eps),
      );
      p.assign(base.sub(m.div(denom).mul(tf.scalar(lr / (1 - b1 ** st.t)))));
      st.m.assign(m);
      st.v.assign(v);
    }
  });
}

function seededParams(tag: string, shapes: number[][], seed: number) {
  return new Map<string, tf.Variable>(
    shapes.map((shape, i) => [
      `p${i}.weight`,
      tf.tidy(() =>
        tf.variable(
          tf.randomNormal(shape, 0, 1, "float32", seed + i),
          true,
          `${tag}_${i}`,
        )
      ),
    ]),
  );
}

Deno.test("AdamW's per-parameter update is bit-identical to updating the whole model in one tidy", () => {
  const shapes = [[3, 4], [5], [2, 3, 3, 2], [7, 1]];
  const settings: OptimizerSettings = {
    lr: 0.01,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0.05,
  };
  const lean = seededParams("lean", shapes, 1);
  const whole = seededParams("whole", shapes, 1);
  const opt = new AdamW(lean, settings);
  const state = new Map<
    string,
    { m: tf.Variable; v: tf.Variable; t: number }
  >();
  for (let step = 0; step < 4; step++) {
    const lr = 0.01 * (step + 1);
    // seeds ≥ 1: a tf.random seed of 0 means unseeded
    const grads = () =>
      new Map(
        shapes.map((shape, i) => [
          `p${i}.weight`,
          tf.randomNormal(shape, 0, 1, "float32", 1000 + 100 * step + i),
        ]),
      );
    const gl = grads(), gw = grads();
    opt.lr = lr;
    opt.step(gl, { disposeGrads: true });
    assert.ok([...gl.values()].every((g) => g.isDisposed), "grads disposed");
    wholeModelStep(whole, state, gw, settings, lr);
    tf.dispose([...gw.values()]);
    for (const [k, p] of lean) {
      assert.deepStrictEqual(p.dataSync(), whole.get(k)!.dataSync(), k);
    }
  }
  assert.equal(
    opt.stateBytes(),
    2 * 4 * shapes.reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0),
  );
  opt.dispose();
  tf.dispose([...lean.values(), ...whole.values()]);
  for (const st of state.values()) tf.dispose([st.m, st.v]);
});

Deno.test("AdamW.step keeps one parameter's temporaries alive at a time, not the whole model's", () => {
  // 16 parameters of 4096 floats: one parameter's update makes 14
  // parameter-sized temporaries; a whole-model tidy would keep those of all
  // 16 parameters (224 × 16 KiB) until it ends
  const shapes = Array.from({ length: 16 }, () => [64, 64]);
  const params = seededParams("peak", shapes, 5);
  const opt = new AdamW(params, {
    lr: 1e-3,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0.05,
  });
  const grads = () =>
    new Map(
      shapes.map((s, i) => [`p${i}.weight`, tf.ones(s)] as [string, tf.Tensor]),
    );
  opt.step(grads(), { disposeGrads: true }); // allocates m and v
  // deno-lint-ignore no-explicit-any
  const engine = tf.engine() as any;
  const track = engine.trackTensor;
  let peak = 0;
  engine.trackTensor = function (...a: unknown[]) {
    track.apply(engine, a);
    peak = Math.max(peak, engine.state.numBytes);
  };
  try {
    const g = grads();
    const start = tf.memory().numBytes;
    opt.step(g, { disposeGrads: true });
    const one = 64 * 64 * 4;
    assert.ok(
      peak - start <= 14 * one + 1024, // + a few scalars
      `peak ${peak - start} bytes above the start, one parameter is ${one}`,
    );
    assert.equal(tf.memory().numBytes, start - 16 * one, "gradients freed");
  } finally {
    engine.trackTensor = track;
  }
  opt.dispose();
  tf.dispose([...params.values()]);
});

Deno.test("AdamW.step with disposeGrads frees nothing when a gradient is bad", () => {
  const a = tf.variable(tf.ones([2]), true, "adamw_dispose_a");
  const opt = new AdamW(new Map([["a", a]]), {
    lr: 0.1,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0,
  });
  const ga = tf.ones([2]), gb = tf.ones([3]);
  assert.throws(
    () => opt.step(new Map([["a", ga], ["b", gb]]), { disposeGrads: true }),
    /unknown parameter "b"/,
  );
  assert.ok(!ga.isDisposed && !gb.isDisposed);
  tf.dispose([a, ga, gb]);
  opt.dispose();
});

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`AdamW with host moments is bit-identical to device moments on ${backend} and keeps them off the backend`, async () => {
    if (backend === "wasm") await initBackend("wasm");
    try {
      const shapes = [[3, 4], [5], [2, 3, 3, 2], [4, 1]];
      const settings: OptimizerSettings = {
        lr: 0.01,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weightDecay: 0.05,
      };
      const dev = seededParams(`dev_${backend}`, shapes, 3);
      const host = seededParams(`host_${backend}`, shapes, 3);
      const a = new AdamW(dev, settings);
      const b = new AdamW(host, settings, undefined, { moments: "host" });
      assert.equal(b.moments, "host");
      const n = shapes.reduce((s, sh) => s + sh.reduce((x, y) => x * y, 1), 0);
      for (let step = 0; step < 5; step++) {
        // seeds ≥ 1 (0 is unseeded); step 2 skips parameter 1
        const grads = () =>
          new Map(
            shapes.flatMap((shape, i) =>
              step === 2 && i === 1 ? [] : [[
                `p${i}.weight`,
                tf.randomNormal(shape, 0, 3, "float32", 2000 + 10 * step + i),
              ] as [string, tf.Tensor]]
            ),
          );
        a.lr = b.lr = 0.003 * (step + 1);
        const before = tf.memory().numBytes;
        a.step(grads(), { disposeGrads: true });
        const devGrowth = tf.memory().numBytes - before;
        const mid = tf.memory().numBytes;
        b.step(grads(), { disposeGrads: true });
        if (step === 0) {
          assert.equal(devGrowth, 2 * 4 * n, "device moments on the backend");
          assert.equal(tf.memory().numBytes, mid, "host moments are not");
        }
        for (const [k, p] of dev) {
          assert.deepStrictEqual(
            host.get(k)!.dataSync(),
            p.dataSync(),
            `step ${step + 1} ${k}`,
          );
        }
      }
      assert.equal(b.stepsOf("p1.weight"), 4);
      assert.equal(b.stateBytes(), a.stateBytes());
      a.dispose();
      b.dispose();
      tf.dispose([...dev.values(), ...host.values()]);
    } finally {
      await tf.setBackend("cpu");
    }
  });
}

Deno.test("AdamW rejects an unknown moment storage by name", () => {
  assert.throws(
    () =>
      new AdamW(
        new Map(),
        {
          lr: 1e-3,
          betas: [0.9, 0.999],
          eps: 1e-8,
          weightDecay: 0,
        },
        undefined,
        { moments: "gpu" as "host" },
      ),
    /options\.moments must be "device" or "host", got "gpu"/,
  );
});

Deno.test("AdamW takes Float32Array gradients (row-major values) exactly like tensors, and checks their length", () => {
  for (const moments of ["device", "host"] as const) {
    const shapes = [[3, 4], [5]];
    const settings: OptimizerSettings = {
      lr: 0.01,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0.05,
    };
    const a = seededParams(`ta_${moments}`, shapes, 9);
    const b = seededParams(`fa_${moments}`, shapes, 9);
    const oa = new AdamW(a, settings, undefined, { moments });
    const ob = new AdamW(b, settings, undefined, { moments });
    for (let step = 0; step < 3; step++) {
      const g = shapes.map((s, i) =>
        tf.randomNormal(s, 0, 1, "float32", 3000 + 10 * step + i)
      );
      oa.step(new Map(g.map((t, i) => [`p${i}.weight`, t])));
      ob.step(
        new Map(
          g.map((t, i) => [`p${i}.weight`, t.dataSync() as Float32Array]),
        ),
      );
      tf.dispose(g);
      for (const [k, p] of a) {
        assert.deepStrictEqual(b.get(k)!.dataSync(), p.dataSync(), k);
      }
    }
    assert.throws(
      () => ob.step(new Map([["p1.weight", new Float32Array(4)]])),
      /"p1\.weight" has 4 values, parameter has 5 \(\[5\]\)/,
    );
    oa.dispose();
    ob.dispose();
    tf.dispose([...a.values(), ...b.values()]);
  }
});
