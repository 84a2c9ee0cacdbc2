import assert from "node:assert/strict";
import nodeUtil from "node:util";
import * as tf from "@tensorflow/tfjs";
import {
  conflictingLibraries,
  napiBuildVersion,
  restoreNodeUtil,
  tfjsNodeCandidates,
} from "./tensorflow.ts";
import { chooseBackend, initBackend, webgpuAvailable } from "./runtime.ts";
import { buildModel, mambaVisionB, merbaBase } from "../mod.ts";
import { selectiveScan } from "../selective_scan.ts";
import { permute } from "./kernels/permute.ts";
import { maxScaledError, onBackend, seededValues } from "./kernels/testing.ts";
import type { ModelConfig } from "../types.ts";
import { TINY_MODEL } from "../testdata/tiny_config.ts";
import { runFresh } from "./testdata/fresh_process.ts";

const HERE = new URL(".", import.meta.url);

/** Runs `f` with one environment variable set, then restores it. */
async function withEnv<T>(
  name: string,
  value: string,
  f: () => Promise<T>,
): Promise<T> {
  const old = Deno.env.get(name);
  Deno.env.set(name, value);
  try {
    return await f();
  } finally {
    if (old === undefined) Deno.env.delete(name);
    else Deno.env.set(name, old);
  }
}

Deno.test("restoreNodeUtil gives node:util back isNullOrUndefined (Node's semantics) and is idempotent", () => {
  restoreNodeUtil();
  const util = nodeUtil as unknown as Record<
    string,
    (x: unknown) => boolean
  >;
  assert.equal(util.isNullOrUndefined(null), true);
  assert.equal(util.isNullOrUndefined(undefined), true);
  assert.equal(util.isNullOrUndefined(0), false);
  assert.equal(util.isNullOrUndefined(""), false);
  assert.equal(util.isArray([1]), true);
  assert.deepEqual(restoreNodeUtil(), []);
});

Deno.test("conflictingLibraries finds the Vulkan loader, its drivers and Mesa's LLVM in a maps listing, and nothing else", () => {
  const maps = [
    "7f00-7f01 r-xp 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/libLLVM-15.so.1",
    "7f01-7f02 r-xp 00000000 08:01 2 /usr/lib/x86_64-linux-gnu/libvulkan_lvp.so",
    "7f02-7f03 r-xp 00000000 08:01 3 /usr/lib/x86_64-linux-gnu/libvulkan.so.1.3.239",
    "7f03-7f04 r-xp 00000000 08:01 3 /usr/lib/x86_64-linux-gnu/libvulkan.so.1.3.239",
    "7f04-7f05 r-xp 00000000 08:01 4 /usr/lib/x86_64-linux-gnu/libc.so.6",
    "7f05-7f06 rw-p 00000000 00:00 0 [heap]",
    "7f06-7f07 rw-p 00000000 00:00 0",
  ].join("\n");
  assert.deepEqual(conflictingLibraries(maps), [
    "libLLVM-15.so.1",
    "libvulkan.so.1.3.239",
    "libvulkan_lvp.so",
  ]);
  assert.deepEqual(
    conflictingLibraries("7f04-7f05 r-xp 0 0 0 /lib/libc.so.6"),
    [],
  );
});

Deno.test("napiBuildVersion picks the highest supported N-API version the runtime has, as node-pre-gyp does", () => {
  assert.equal(napiBuildVersion([3, 4, 5, 6, 7, 8], 10), 8);
  assert.equal(napiBuildVersion([3, 4, 5, 6, 7, 8], 6), 6);
  assert.equal(napiBuildVersion([3, 4], 2), null);
});

/** Runs `testdata/<file>` in a fresh process. */
const fresh = (file: string, args: string[]) =>
  runFresh(new URL(`testdata/${file}`, HERE), args);

const setUp = tfjsNodeCandidates().length > 0;
// libtensorflow crashes a process that mapped Vulkan first (another test
// module may have probed WebGPU in this process): then the in-process tests
// run in a fresh process instead
const conflicts = conflictingLibraries();

if (!setUp) {
  Deno.test("tensorflow backend tests are skipped: not set up here (deno task setup:tensorflow)", () => {
    console.log(
      "skipped: the tensorflow backend is not set up (run deno task setup:tensorflow)",
    );
  });

  Deno.test("without tensorflow set up (and MERBA_BLAS=0), the default backend is wasm and the reason names both skipped kernel sets", async () => {
    const choice = await withEnv("MERBA_BLAS", "0", chooseBackend);
    assert.equal(choice.name, "wasm");
    assert.match(
      choice.reason,
      /^default: wasm, the first available of the ranking tensorflow > wasm\+openblas > wasm > cpu measured with deno task bench:cpu \(tensorflow unavailable: not set up \(deno task setup:tensorflow\); wasm\+openblas unavailable: MERBA_BLAS=0\); --backend chooses another$/,
    );
  });
} else if (conflicts.length > 0 && !Deno.env.get("MERBA_TF_TEST_CHILD")) {
  Deno.test("tensorflow backend tests pass in a fresh process (WebGPU was started in this one first)", async () => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", new URL(import.meta.url).pathname],
      env: { NO_COLOR: "1", MERBA_TF_TEST_CHILD: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert.equal(
      r.code,
      0,
      dec.decode(r.stdout).slice(-3000) + dec.decode(r.stderr).slice(-2000),
    );
  });
} else {
  // tensorflow first: it cannot load after WebGPU was probed
  const info = await initBackend("tensorflow");
  await initBackend("cpu");

  Deno.test("with tensorflow set up, the default is tensorflow, first in the ranking, on every call", async () => {
    for (let i = 0; i < 2; i++) {
      const choice = await chooseBackend();
      assert.equal(choice.name, "tensorflow");
      assert.equal(
        choice.reason,
        "default: tensorflow, the first available of the ranking tensorflow > wasm+openblas > wasm > cpu measured with deno task bench:cpu; --backend chooses another",
      );
    }
  });

  Deno.test("initBackend('tensorflow') loads tfjs-node under Deno with libtensorflow's version, one intra-op thread by default, and says so", () => {
    assert.equal(info.name, "tensorflow");
    assert.equal(info.threads, 1);
    assert.equal(info.blas, null);
    assert.match(info.versions.libtensorflow, /^\d+\.\d+/);
    assert.ok(
      info.versions["@tensorflow/tfjs-node"] ??
        info.versions["@tensorflow/tfjs-node-gpu"],
    );
    assert.match(info.notes.join("\n"), /1 intra-op thread/);
  });

  Deno.test("tensorflow ops and gradients match the cpu backend (the first op used to throw: node:util lacked isNullOrUndefined)", async () => {
    const x = tf.tensor2d(seededValues(12, 1), [3, 4]);
    const w = tf.tensor2d(seededValues(8, 2), [4, 2]);
    const run = () => {
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.tanh(tf.matMul(a, b)))
      )([x, w]);
      return [gx.dataSync().slice(), gw.dataSync().slice()];
    };
    const want = await onBackend("cpu", run);
    const got = await onBackend("tensorflow", run);
    for (let i = 0; i < 2; i++) {
      assert.ok(maxScaledError(got[i], want[i]) < 1e-5);
    }
  });

  Deno.test("the fused selective scan runs as a kernel on tensorflow and its output and all seven gradients match the cpu backend", async () => {
    const [b, l, d, n] = [2, 9, 5, 3];
    const mk = (shape: number[], seed: number, scale = 1) =>
      tf.tensor(seededValues(shape.reduce((p, q) => p * q, 1), seed), shape)
        .mul(scale);
    const inputs = [
      mk([b, l, d], 1),
      mk([b, l, d], 2, 0.5),
      tf.neg(tf.exp(mk([d, n], 3))),
      mk([b, l, n], 4),
      mk([b, l, n], 5),
      mk([d], 6),
      mk([d], 7, 0.1),
    ];
    const f = (...xs: tf.Tensor[]) =>
      selectiveScan({
        u: xs[0] as tf.Tensor3D,
        delta: xs[1] as tf.Tensor3D,
        A: xs[2] as tf.Tensor2D,
        B: xs[3] as tf.Tensor3D,
        C: xs[4] as tf.Tensor3D,
        D: xs[5] as tf.Tensor1D,
        deltaBias: xs[6] as tf.Tensor1D,
      });
    const run = () => {
      const y = f(...inputs);
      const gs = tf.grads((...xs: tf.Tensor[]) =>
        tf.sum(tf.mul(f(...xs), f(...xs)))
      )(inputs);
      return [y, ...gs].map((t) => t.dataSync().slice());
    };
    const want = await onBackend("cpu", run);
    const kernels: string[] = [];
    const got = await onBackend("tensorflow", () => {
      assert.ok(tf.getKernel("MerbaSelectiveScan", "tensorflow"));
      assert.ok(tf.getKernel("MerbaSelectiveScanGrad", "tensorflow"));
      kernels.push(tf.getBackend());
      return run();
    });
    assert.deepEqual(kernels, ["tensorflow"]);
    got.forEach((g, i) =>
      assert.ok(maxScaledError(g, want[i]) < 1e-5, `output ${i}`)
    );
  });

  Deno.test("scan-order permutes and their gradients on tensorflow equal the cpu backend's exactly", async () => {
    const x = tf.tensor3d(seededValues(2 * 6 * 3, 9), [2, 6, 3]);
    const perm = Int32Array.from([3, 0, 5, 1, 4, 2]);
    const run = () => {
      const y = permute(x, perm, 1);
      const g = tf.grad((a: tf.Tensor) =>
        tf.sum(tf.mul(permute(a, perm, 1), tf.range(0, 36).reshape([2, 6, 3])))
      )(x);
      return [y.dataSync().slice(), g.dataSync().slice()];
    };
    assert.deepEqual(
      await onBackend("tensorflow", run),
      await onBackend("cpu", run),
    );
  });

  Deno.test("conv2d with PyTorch's numeric padding (which tfjs-node rejects) and its two gradients match the cpu backend on tensorflow", async () => {
    const x = tf.tensor4d(seededValues(2 * 9 * 9 * 3, 11), [2, 9, 9, 3]);
    const w = tf.tensor4d(seededValues(3 * 3 * 3 * 4, 12), [3, 3, 3, 4]);
    const run = () =>
      [1, 2].flatMap((stride) => {
        const y = tf.conv2d(x, w, stride, 1);
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(
            tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, 1)),
          )
        )([x, w]);
        return [y, gx, gw].map((t) => t.dataSync().slice());
      });
    const want = await onBackend("cpu", run);
    const got = await onBackend("tensorflow", run);
    got.forEach((g, i) =>
      assert.ok(maxScaledError(g, want[i]) < 1e-5, `output ${i}`)
    );
  });

  const TINY = TINY_MODEL;
  const MODELS: [string, ModelConfig][] = [
    ["MERba", merbaBase({ ...TINY, dropout: 0.3, dropPath: 0.3 })],
    [
      "MambaVision-B",
      mambaVisionB({
        ...TINY,
        depths: [1, 1, 2, 2],
        attentionDepths: [0, 0, 0, 0],
        windowSize: [4, 4, 2, 2],
      }),
    ],
  ];
  for (const [name, cfg] of MODELS) {
    Deno.test(`${name}: a seeded training forward, the loss and every parameter gradient on tensorflow match the cpu backend`, async () => {
      await initBackend("cpu");
      const m = buildModel(cfg, 3);
      const x = tf.randomUniform(
        [2, 56, 56, 2],
        -1,
        1,
        "float32",
        4,
      ) as tf.Tensor4D;
      const keyOf = new Map([...m.params].map(([k, v]) => [v.name, k]));
      const run = () => {
        const { value, grads } = tf.variableGrads(() => {
          const o = m.apply(x, { training: true, seed: 7 });
          const l = o.logits ?? tf.add(o.coarse!, o.fine!);
          return tf.mean(tf.square(tf.sub(l, 1))) as tf.Scalar;
        }, [...m.params.values()]);
        const out = new Map<string, Float32Array>([[
          "loss",
          value.dataSync().slice() as Float32Array,
        ]]);
        for (const [k, g] of Object.entries(grads)) {
          out.set(keyOf.get(k)!, g.dataSync().slice() as Float32Array);
        }
        tf.dispose([value, ...Object.values(grads)]);
        return out;
      };
      const want = await onBackend("cpu", run);
      const got = await onBackend("tensorflow", run);
      assert.equal(got.size, m.params.size + 1);
      for (const [k, v] of want) {
        if (v.every((e) => Math.abs(e) < 1e-7)) {
          // a gradient that is zero in exact arithmetic (a conv bias before
          // a training-mode BatchNorm, a block whose output is dropped or
          // normalised away): both backends give rounding noise around 0
          assert.ok(got.get(k)!.every((e) => Math.abs(e) < 1e-6), k);
          continue;
        }
        const e = maxScaledError(got.get(k)!, v);
        assert.ok(e < 2e-3, `${k}: scaled error ${e}`);
      }
      m.dispose();
    });
  }

  if (await webgpuAvailable()) {
    Deno.test("loading tensorflow after WebGPU was started is refused with one line instead of crashing the process", async () => {
      const r = await fresh("tf_after_webgpu.ts", []);
      assert.equal(r.code, 3, r.err.slice(-2000));
      assert.match(
        r.out,
        /^initBackend: backend "tensorflow" cannot load in this process: WebGPU was started first \(.*libvulkan.*\) .*start tensorflow before any WebGPU use, or in a fresh process$/m,
      );
    });
  }
}
