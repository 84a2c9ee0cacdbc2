/**
 * Tests of the BLAS path: sgemm against a naive product, determinism (repeat
 * calls, thread counts), and every BLAS kernel against TensorFlow.js' plain
 * path (same backend, BLAS off) for values and gradients on wasm and cpu.
 * They skip, saying so, when no BLAS library is installed.
 */
import * as tf from "@tensorflow/tfjs";
import {
  deepStrictEqual as assertEquals,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict";
import { initBackend } from "../runtime.ts";
import { buildModel, merbaBase } from "../../mod.ts";
import {
  applyBlasDefault,
  BLAS_KERNEL_NAMES,
  blasChosen,
  blasSettingFromEnv,
  blasStatus,
  DEFAULT_BLAS_KERNELS,
  disableBlasKernels,
  enableBlasFromEnv,
  enableBlasKernels,
  loadBlas,
} from "./mod.ts";
import { rand } from "./testdata/rand.ts";
import { TINY_MODEL } from "../../testdata/tiny_config.ts";

const probe = loadBlas({ threads: 1 });
probe?.close();
const ignore = probe === null;
if (ignore) {
  console.log(
    "model/backend/blas tests skipped: no BLAS library found (install libopenblas0-pthread)",
  );
}

function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rel: number,
  what: string,
): void {
  assertEquals(got.length, want.length, `${what}: length`);
  let scale = 0, worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
  }
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
  }
  assert(
    worst <= rel * Math.max(scale, 1e-30),
    `${what}: max |diff| ${worst} > ${rel} × max |want| ${scale}`,
  );
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

Deno.test({
  name:
    "sgemm matches a naive float64 product for every transpose, offset and leading dimension",
  ignore,
  fn() {
    const blas = loadBlas({ threads: 2 })!;
    try {
      const m = 13, n = 7, k = 29, pad = 3;
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad;
          const ldc = n + pad;
          const a = rand(5 + (ta ? k : m) * lda, 1),
            b = rand(2 + (tb ? n : k) * ldb, 2);
          const c0 = rand(1 + m * ldc, 3);
          const c = c0.slice();
          const alpha = 0.75, beta = -0.5;
          blas.sgemm(
            ta,
            tb,
            m,
            n,
            k,
            alpha,
            a.subarray(5),
            lda,
            b.subarray(2),
            ldb,
            beta,
            c.subarray(1),
            ldc,
          );
          const want: number[] = [], got: number[] = [];
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let s = 0;
              for (let p = 0; p < k; p++) {
                const av = a[5 + (ta ? p * lda + i : i * lda + p)];
                const bv = b[2 + (tb ? j * ldb + p : p * ldb + j)];
                s += av * bv;
              }
              want.push(alpha * s + beta * c0[1 + i * ldc + j]);
              got.push(c[1 + i * ldc + j]);
            }
          }
          assertClose(got, want, 1e-6, `sgemm ta=${ta} tb=${tb}`);
          // padding columns untouched
          assertEquals(c[1 + n], c0[1 + n]);
        }
      }
    } finally {
      blas.close();
    }
  },
});

Deno.test({
  name:
    "sgemm is bit-identical across repeat calls at a fixed thread count; 1 and 2 threads agree to rounding",
  ignore,
  fn() {
    const blas = loadBlas({ threads: 1 })!;
    try {
      const m = 301, n = 257, k = 515;
      const a = rand(m * k, 4), b = rand(k * n, 5);
      const run = () => {
        const c = new Float32Array(m * n);
        blas.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n);
        return c;
      };
      const one = run();
      assert(bitsEqual(one, run()), "1 thread: repeat call differs");
      blas.setThreads(2);
      const two = run();
      assert(bitsEqual(two, run()), "2 threads: repeat call differs");
      // the thread count is part of the reproducibility key: OpenBLAS' 1-
      // and 2-thread results may differ in the last bits, never by more
      assertClose(two, one, 1e-6, "1 vs 2 threads");
    } finally {
      blas.close();
    }
  },
});

Deno.test({
  name:
    "loadBlas returns null for a missing library and rejects a bad thread count",
  fn() {
    assertEquals(loadBlas({ path: "/nonexistent/libopenblas.so.0" }), null);
    assertThrows(
      () => loadBlas({ threads: 0 }),
      /threads must be a positive integer, got 0/,
    );
    assertThrows(
      () => enableBlasKernels({ backends: ["webgpu" as "wasm"] }),
      /backends: "webgpu" is not one of wasm, cpu/,
    );
    assertThrows(
      () => enableBlasKernels({ tuning: { minFlops: -1 } }),
      /tuning.minFlops is invalid: -1/,
    );
  },
});

interface Case {
  name: string;
  /** returns [value, ...gradients] of the case's computation. */
  run(): tf.Tensor[];
}

function t(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(rand(shape.reduce((a, b) => a * b, 1), seed), shape);
}

const matmulCase = (
  name: string,
  as: number[],
  bs: number[],
  ta: boolean,
  tb: boolean,
  grads = true,
): Case => ({
  name,
  run: () =>
    tf.tidy(() => {
      const a = t(as, 11), b = t(bs, 12);
      const y = tf.matMul(a, b, ta, tb);
      if (!grads) return [y]; // tfjs-core's gradient rejects a broadcast batch
      const dy = t(y.shape, 13);
      const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
        tf.mul(tf.matMul(p, q, ta, tb), dy).sum()
      )([a, b]);
      return [y, ga, gb];
    }),
});

const convCase = (
  name: string,
  xs: [number, number, number, number],
  fs: [number, number, number, number],
  stride: number,
  pad: "same" | "valid" | number,
  dilation = 1,
): Case => ({
  name,
  run: () =>
    tf.tidy(() => {
      const x = t(xs, 21) as tf.Tensor4D, w = t(fs, 22) as tf.Tensor4D;
      const y = tf.conv2d(x, w, stride, pad, "NHWC", dilation);
      if (dilation !== 1) return [y]; // tfjs has no gradient for dilation > 1
      const dy = t(y.shape, 23);
      const [gx, gw] = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
        tf.mul(tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, stride, pad), dy)
          .sum()
      )([x, w]);
      return [y, gx, gw];
    }),
});

const CASES: Case[] = [
  matmulCase("linear [96, 64]·[64, 48]", [96, 64], [64, 48], false, false),
  matmulCase("aᵀ·b", [64, 96], [64, 48], true, false),
  matmulCase("a·bᵀ batched [6, 49, 32]", [6, 49, 32], [6, 49, 32], false, true),
  matmulCase(
    "aᵀ·bᵀ batched rank 4",
    [2, 3, 40, 33],
    [2, 3, 17, 40],
    true,
    true,
  ),
  matmulCase(
    "broadcast batch of a",
    [1, 40, 33],
    [5, 33, 17],
    false,
    false,
    false,
  ),
  convCase(
    "conv 3×3 s2 pad 1, 2 channels (stem)",
    [3, 20, 18, 2],
    [3, 3, 2, 16],
    2,
    1,
  ),
  convCase(
    "conv 3×3 s1 same, 32 channels",
    [2, 9, 11, 32],
    [3, 3, 32, 24],
    1,
    "same",
  ),
  convCase("conv 3×3 s2 valid", [2, 13, 12, 8], [3, 3, 8, 20], 2, "valid"),
  convCase("conv 1×1", [2, 7, 7, 40], [1, 1, 40, 24], 1, 0),
  convCase("conv 3×3 dilation 2", [2, 12, 12, 8], [3, 3, 8, 8], 1, "same", 2),
];

async function comparePaths(backend: "wasm" | "cpu"): Promise<void> {
  await initBackend(backend);
  disableBlasKernels();
  const plain = CASES.map((c) => c.run());
  const status = enableBlasKernels({
    threads: 2,
    backends: [backend],
    kernels: [...BLAS_KERNEL_NAMES],
    tuning: { minFlops: 0 },
  });
  assert(status !== null);
  try {
    for (let i = 0; i < CASES.length; i++) {
      const fast = CASES[i].run();
      assertEquals(fast.length, plain[i].length);
      for (let j = 0; j < fast.length; j++) {
        assertEquals(
          fast[j].shape,
          plain[i][j].shape,
          `${CASES[i].name} [${j}] shape`,
        );
        assertClose(
          fast[j].dataSync(),
          plain[i][j].dataSync(),
          1e-5,
          `${backend}: ${CASES[i].name} ${j === 0 ? "value" : `gradient ${j}`}`,
        );
      }
      tf.dispose(fast);
    }
  } finally {
    disableBlasKernels();
    tf.dispose(plain.flat());
  }
}

Deno.test({
  name:
    "BLAS kernels match the plain wasm path (values and gradients within 1e-5 relative)",
  ignore,
  fn: () => comparePaths("wasm"),
});

Deno.test({
  name:
    "BLAS kernels match the plain cpu path (values and gradients within 1e-5 relative)",
  ignore,
  fn: () => comparePaths("cpu"),
});

Deno.test({
  name:
    "disabling BLAS puts back the replaced kernels; int32 matmul falls back",
  ignore,
  async fn() {
    await initBackend("cpu");
    disableBlasKernels();
    const before = tf.getKernel("BatchMatMul", "wasm")!.kernelFunc;
    const beforeConv = tf.getKernel("Conv2DBackpropFilter", "wasm")!.kernelFunc;
    const convWasm = tf.getKernel("Conv2D", "wasm")!.kernelFunc;
    const convCpu = tf.getKernel("Conv2D", "cpu")!.kernelFunc;
    enableBlasKernels({ threads: 1, tuning: { minFlops: 0 } });
    try {
      assert(blasStatus() !== null);
      assert(tf.getKernel("BatchMatMul", "wasm")!.kernelFunc !== before);
      assert(tf.getKernel("BatchMatMul", "cpu")!.kernelFunc !== before);
      // by default wasm keeps XNNPACK's forward conv; cpu gets the BLAS one
      assert(tf.getKernel("Conv2D", "wasm")!.kernelFunc === convWasm);
      assert(tf.getKernel("Conv2D", "cpu")!.kernelFunc !== convCpu);
      assertEquals(blasStatus()!.kernels.wasm, [...DEFAULT_BLAS_KERNELS.wasm]);
      const y = tf.matMul(
        tf.tensor2d([[1, 2], [3, 4]], [2, 2], "int32"),
        tf.tensor2d([[5], [6]], [2, 1], "int32"),
      );
      assertEquals(y.dtype, "int32");
      assertEquals(Array.from(y.dataSync()), [17, 39]);
      y.dispose();
    } finally {
      disableBlasKernels();
    }
    assertEquals(blasStatus(), null);
    assert(tf.getKernel("BatchMatMul", "wasm")!.kernelFunc === before);
    assert(
      tf.getKernel("Conv2DBackpropFilter", "wasm")!.kernelFunc === beforeConv,
    );
  },
});

Deno.test({
  name: "a seeded training step with BLAS is bit-identical run to run",
  ignore,
  async fn() {
    await initBackend("wasm");
    enableBlasKernels({ threads: 2 });
    try {
      const step = () =>
        tf.tidy(() => {
          const w1 = tf.variable(t([3, 3, 2, 16], 31), true, "blas_w1");
          const w2 = tf.variable(t([16 * 8 * 8, 10], 32), true, "blas_w2");
          const x = t([8, 16, 16, 2], 33) as tf.Tensor4D;
          const f = () => {
            const h = tf.relu(tf.conv2d(x, w1 as tf.Tensor4D, 2, 1));
            const logits = tf.matMul(tf.reshape(h, [8, -1]), w2);
            return tf.losses.softmaxCrossEntropy(
              tf.oneHot(tf.range(0, 8, 1, "int32"), 10),
              logits,
            ) as tf.Scalar;
          };
          const { value, grads } = tf.variableGrads(f, [w1, w2]);
          w1.assign(w1.sub(grads.blas_w1.mul(0.1)));
          w2.assign(w2.sub(grads.blas_w2.mul(0.1)));
          const out = [value.dataSync()[0], ...w1.dataSync(), ...w2.dataSync()];
          w1.dispose();
          w2.dispose();
          return Float32Array.from(out);
        });
      const a = step(), b = step();
      assert(bitsEqual(a, b), "two seeded steps differ");
    } finally {
      disableBlasKernels();
    }
  },
});

Deno.test({
  name:
    "MERBA_BLAS: off values disable, unset enables when found, malformed values name the variable, 1 enables with MERBA_BLAS_THREADS",
  async fn() {
    await initBackend("wasm");
    const env = (vars: Record<string, string>) => (k: string) => vars[k];
    const offs: Record<string, string>[] = [
      { MERBA_BLAS: "0" },
      { MERBA_BLAS: "off" },
      { MERBA_BLAS: " False " },
    ];
    for (const off of offs) {
      if (!ignore) enableBlasKernels();
      assertEquals(blasSettingFromEnv(env(off)).mode, "off");
      assertEquals(enableBlasFromEnv(env(off)), null);
      assertEquals(blasStatus(), null);
    }
    assertEquals(blasSettingFromEnv(env({})), { mode: "auto", threads: 1 });
    assertEquals(blasSettingFromEnv(env({ MERBA_BLAS: "" })).mode, "auto");
    assertThrows(
      () => enableBlasFromEnv(env({ MERBA_BLAS: "yes please" })),
      /MERBA_BLAS must be 1\/on\/true or 0\/off\/false \(or unset: on when found\), got "yes please"/,
    );
    assertThrows(
      () =>
        enableBlasFromEnv(env({ MERBA_BLAS: "1", MERBA_BLAS_THREADS: "two" })),
      /MERBA_BLAS_THREADS must be a positive integer, got "two"/,
    );
    assertThrows(
      () => enableBlasFromEnv(env({ MERBA_BLAS_THREADS: "1.5" })),
      /MERBA_BLAS_THREADS must be a positive integer, got "1.5"/,
    );
    // a setting is chosen: the default initBackend applies keeps it
    assert(blasChosen());
    assertEquals(applyBlasDefault(env({})), null);
    if (ignore) {
      // no library: unset is silently off, 1 is an error naming it
      assertEquals(enableBlasFromEnv(env({})), null);
      assertThrows(
        () => enableBlasFromEnv(env({ MERBA_BLAS: "1" })),
        /MERBA_BLAS=1: no BLAS library found/,
      );
      return;
    }
    try {
      const auto = enableBlasFromEnv(env({}));
      assert(auto !== null);
      assertEquals(auto.threads, 1);
      assertEquals(applyBlasDefault(env({ MERBA_BLAS: "0" })), blasStatus());
      const s = enableBlasFromEnv(
        env({ MERBA_BLAS: "on", MERBA_BLAS_THREADS: "2" }),
      );
      assert(s !== null);
      assertEquals(s.threads, 2);
      assertEquals(blasStatus()?.backends, ["wasm", "cpu"]);
    } finally {
      disableBlasKernels();
    }
  },
});

Deno.test({
  name:
    "row-copy GatherV2 is bit-identical to the backend's own on wasm and cpu, and names a bad index",
  ignore,
  async fn() {
    const cases: [number[], "float32" | "int32", number[], number][] = [
      [[16, 49, 12], "float32", [48, 0, 7, 7, 3], 1],
      [[5, 7, 3], "float32", [4, 0, 2], 0],
      [[4, 6, 5], "int32", [4, 1, 0, 3], -1],
      [[3, 4, 5, 6], "float32", [3, 2, 1, 0], 1],
    ];
    for (const backend of ["wasm", "cpu"] as const) {
      await initBackend(backend);
      disableBlasKernels();
      const run = () =>
        cases.map(([shape, dtype, idx, axis], k) =>
          tf.tidy(() => {
            const n = shape.reduce((a, b) => a * b, 1);
            const x = dtype === "int32"
              ? tf.tensor(
                Int32Array.from({ length: n }, (_, i) => i * 7 - 50),
                shape,
                "int32",
              )
              : t(shape, 40 + k);
            return tf.gather(x, tf.tensor1d(idx, "int32"), axis).dataSync()
              .slice();
          })
        );
      const plain = run();
      enableBlasKernels({ backends: [backend] });
      try {
        const fast = run();
        for (let k = 0; k < cases.length; k++) {
          const a = fast[k], b = plain[k];
          assertEquals(a.length, b.length);
          assert(
            a instanceof Float32Array && b instanceof Float32Array
              ? bitsEqual(a, b)
              : Array.from(a).every((v, i) => v === b[i]),
            `${backend}: gather case ${k} differs`,
          );
        }
        const x = tf.ones([2, 3, 4]);
        assertThrows(
          () => tf.gather(x, tf.tensor1d([0, 3], "int32"), 1).dataSync(),
          /GatherV2: indices\[1\] = 3 is not in \[0, 2\]/,
        );
        x.dispose();
      } finally {
        disableBlasKernels();
      }
    }
  },
});

Deno.test({
  name:
    "a MERba training step's loss and every gradient agree with BLAS on and off (1e-5 loss, 1e-4 per gradient tensor)",
  ignore,
  async fn() {
    await initBackend("wasm");
    const config = merbaBase({
      ...TINY_MODEL,
      head: "linear",
      dropout: 0,
      dropPath: 0,
    });
    const model = buildModel(config, 3);
    const x = t([4, 56, 56, 2], 50);
    const y = tf.oneHot(tf.tensor1d([0, 3, 5, 6], "int32"), 7);
    const vars = [...model.params.values()];
    const step = () => {
      const { value, grads } = tf.variableGrads(
        () =>
          tf.losses.softmaxCrossEntropy(
            y,
            model.apply(x as tf.Tensor4D, { training: true, seed: 1 }).logits!,
          ) as tf.Scalar,
        vars,
      );
      const out = [
        value.dataSync().slice(),
        ...vars.map((v) => grads[v.name].dataSync().slice()),
      ];
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    disableBlasKernels();
    const plain = step();
    enableBlasKernels({ backends: ["wasm"] });
    let fast: ReturnType<typeof step>;
    try {
      fast = step();
    } finally {
      disableBlasKernels();
    }
    assertClose(fast[0], plain[0], 1e-5, "loss");
    // Gradients that are analytically zero (a conv bias before a norm,
    // layer-scaled branches) are rounding noise of ~1e-8..1e-13 whose
    // relative error means nothing: the bound is 1e-4 of the tensor's own
    // largest entry plus 1e-6 (≈ 8 float32 ulps) of the model's largest
    // gradient entry.
    let global = 0;
    for (const g of plain.slice(1)) {
      for (const v of g) global = Math.max(global, Math.abs(v));
    }
    const names = [...model.params.keys()];
    for (let i = 0; i < vars.length; i++) {
      const want = plain[i + 1], got = fast[i + 1];
      let scale = 0, worst = 0;
      for (let j = 0; j < want.length; j++) {
        scale = Math.max(scale, Math.abs(want[j]));
        worst = Math.max(worst, Math.abs(got[j] - want[j]));
      }
      assert(
        worst <= 1e-4 * scale + 1e-6 * global,
        `gradient of ${
          names[i]
        }: max |diff| ${worst} > 1e-4 × ${scale} + 1e-6 × ${global}`,
      );
    }
    tf.dispose([x, y]);
  },
});
