import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { type ScanInputs, selectiveScan } from "./selective_scan.ts";
import { selectiveScanRef } from "./selective_scan_ref.ts";
import { scanImpl } from "./backend/ssm/kernels.ts";
import { wasmScanAvailable } from "./backend/ssm/scan_wasm.ts";
import { webgpuScanOptions } from "./backend/ssm/webgpu.ts";
import { registerScanKernels } from "./backend/ssm/register.ts";

registerScanKernels();

setWasmPaths(
  dirname(fileURLToPath(import.meta.resolve("@tensorflow/tfjs-backend-wasm"))) +
    "/",
);

const NAMES = ["u", "delta", "A", "B", "C", "D", "deltaBias"] as const;
type Name = typeof NAMES[number];
type Arrays = Record<Name, Float64Array>;
interface Dims {
  batch: number;
  length: number;
  dim: number;
  state: number;
}

/** mulberry32: the test's own seeded stream. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shapes(d: Dims): Record<Name, number[]> {
  const { batch: b, length: l, dim, state: n } = d;
  return {
    u: [b, l, dim],
    delta: [b, l, dim],
    A: [dim, n],
    B: [b, l, n],
    C: [b, l, n],
    D: [dim],
    deltaBias: [dim],
  };
}

/** Float32-representable inputs in realistic ranges (A = −exp(·) < 0). */
function makeArrays(d: Dims, seed: number): Arrays {
  const r = rng(seed);
  const sh = shapes(d);
  const f32 = (x: number) => Math.fround(x);
  const out = {} as Arrays;
  for (const name of NAMES) {
    const size = sh[name].reduce((p, q) => p * q, 1);
    const a = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      const z = 2 * r() - 1;
      a[i] = f32(
        name === "A" ? -Math.exp(1.5 * z) : name === "delta" ? 2 * z : z,
      );
    }
    out[name] = a;
  }
  return out;
}

function toTensors(a: Arrays, d: Dims): ScanInputs {
  const sh = shapes(d);
  const t = (n: Name) => tf.tensor(Float32Array.from(a[n]), sh[n]);
  return {
    u: t("u") as tf.Tensor3D,
    delta: t("delta") as tf.Tensor3D,
    A: t("A") as tf.Tensor2D,
    B: t("B") as tf.Tensor3D,
    C: t("C") as tf.Tensor3D,
    D: t("D") as tf.Tensor1D,
    deltaBias: t("deltaBias") as tf.Tensor1D,
  };
}

/** Naive float64 scan written straight from the definition (FD reference). */
function naiveScan64(x: Arrays, d: Dims, softplus: boolean): Float64Array {
  const { batch, length, dim, state } = d;
  const y = new Float64Array(batch * length * dim);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < dim; c++) {
      const h = new Float64Array(state);
      for (let t = 0; t < length; t++) {
        const i = (b * length + t) * dim + c;
        const z = x.delta[i] + x.deltaBias[c];
        const dt = softplus ? Math.log(1 + Math.exp(z)) : z;
        let acc = 0;
        for (let n = 0; n < state; n++) {
          const j = (b * length + t) * state + n;
          h[n] = Math.exp(dt * x.A[c * state + n]) * h[n] +
            dt * x.B[j] * x.u[i];
          acc += x.C[j] * h[n];
        }
        y[i] = acc + x.D[c] * x.u[i];
      }
    }
  }
  return y;
}

/** max |a − b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.deepStrictEqual(a.length, b.length);
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / (den || 1);
}

const CASES: { name: string; dims: Dims; softplus: boolean }[] = [
  {
    name: "small",
    dims: { batch: 2, length: 7, dim: 5, state: 3 },
    softplus: true,
  },
  {
    name: "L=1",
    dims: { batch: 3, length: 1, dim: 4, state: 4 },
    softplus: true,
  },
  {
    name: "N=1",
    dims: { batch: 2, length: 6, dim: 5, state: 1 },
    softplus: true,
  },
  {
    name: "odd sizes, no softplus",
    dims: { batch: 3, length: 9, dim: 7, state: 5 },
    softplus: false,
  },
  {
    name: "window-sized",
    dims: { batch: 2, length: 49, dim: 16, state: 8 },
    softplus: true,
  },
];

/** Backend, optionally with the kernels' loop implementation (simd | js). */
async function useBackend(name: string): Promise<void> {
  const [backend, impl] = name.split("/");
  assert(await tf.setBackend(backend), `backend ${backend} failed to start`);
  await tf.ready();
  scanImpl.simd = impl !== "js" && wasmScanAvailable();
}

/** Weighted loss Σ w ⊙ y with fixed weights, so every output matters. */
function lossWeights(d: Dims, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from(
    { length: d.batch * d.length * d.dim },
    () => Math.fround(2 * r() - 1),
  );
}

function gradsOf(
  scan: (x: ScanInputs, s: boolean) => tf.Tensor3D,
  x: ScanInputs,
  w: tf.Tensor,
  softplus: boolean,
): Float32Array[] {
  const f = (...args: tf.Tensor[]) => {
    const named = {} as Record<Name, tf.Tensor>;
    NAMES.forEach((n, i) => named[n] = args[i]);
    return tf.sum(
      tf.mul(scan(named as unknown as ScanInputs, softplus), w),
    );
  };
  const gs = tf.grads(f)(NAMES.map((n) => x[n]));
  const out = gs.map((g) => g.dataSync() as Float32Array);
  tf.dispose(gs);
  return out;
}

assert(wasmScanAvailable(), "WebAssembly SIMD is expected in Deno");

for (const backend of ["cpu/simd", "wasm/simd", "cpu/js", "wasm/js"]) {
  Deno.test(`selectiveScan forward matches the tensor-op reference on ${backend}`, async () => {
    await useBackend(backend);
    for (const c of CASES) {
      const x = toTensors(makeArrays(c.dims, 11), c.dims);
      const y = selectiveScan(x, c.softplus);
      const yRef = selectiveScanRef(x, c.softplus);
      assert.deepStrictEqual(y.shape, yRef.shape);
      const e = relErr(y.dataSync(), yRef.dataSync());
      assert(e <= 1e-5, `${backend} ${c.name}: relative error ${e}`);
      tf.dispose([y, yRef, ...Object.values(x)]);
    }
  });

  Deno.test(`selectiveScan gradients of all 7 inputs match the reference's autograd on ${backend}`, async () => {
    await useBackend(backend);
    for (const c of CASES) {
      const x = toTensors(makeArrays(c.dims, 23), c.dims);
      const w = tf.tensor(
        Float32Array.from(lossWeights(c.dims, 5)),
        shapes(c.dims).u,
      );
      const g = gradsOf(selectiveScan, x, w, c.softplus);
      const gRef = gradsOf(selectiveScanRef, x, w, c.softplus);
      NAMES.forEach((n, i) => {
        const e = relErr(g[i], gRef[i]);
        assert(e <= 1e-5, `${backend} ${c.name} d${n}: relative error ${e}`);
      });
      tf.dispose([w, ...Object.values(x)]);
    }
  });

  Deno.test(`selectiveScan gradients match float64 central finite differences on ${backend}`, async () => {
    await useBackend(backend);
    for (const softplus of [true, false]) {
      const dims = { batch: 2, length: 4, dim: 3, state: 2 };
      const a = makeArrays(dims, 101);
      const w = lossWeights(dims, 7);
      const loss = (arr: Arrays) => {
        const y = naiveScan64(arr, dims, softplus);
        let s = 0;
        for (let i = 0; i < y.length; i++) s += w[i] * y[i];
        return s;
      };
      const x = toTensors(a, dims);
      const wt = tf.tensor(Float32Array.from(w), shapes(dims).u);
      const g = gradsOf(selectiveScan, x, wt, softplus);
      const eps = 1e-6;
      NAMES.forEach((n, i) => {
        const fd = new Float64Array(a[n].length);
        for (let k = 0; k < fd.length; k++) {
          const keep = a[n][k];
          a[n][k] = keep + eps;
          const up = loss(a);
          a[n][k] = keep - eps;
          const down = loss(a);
          a[n][k] = keep;
          fd[k] = (up - down) / (2 * eps);
        }
        const e = relErr(g[i], fd);
        assert(
          e <= 1e-5,
          `${backend} softplus=${softplus} d${n}: FD relative error ${e}`,
        );
      });
      tf.dispose([wt, ...Object.values(x)]);
    }
  });

  Deno.test(`selectiveScan is bit-identical across calls and trains through an optimizer on ${backend}`, async () => {
    await useBackend(backend);
    const dims = { batch: 2, length: 5, dim: 4, state: 3 };
    const x = toTensors(makeArrays(dims, 3), dims);
    const y1 = selectiveScan(x).dataSync();
    const y2 = selectiveScan(x).dataSync();
    assert.deepStrictEqual(Array.from(y1), Array.from(y2));
    // tf.train through the registered gradient: SGD on A and D lowers Σy².
    const A = tf.variable(x.A);
    const D = tf.variable(x.D);
    const lossOf = () =>
      tf.sum(tf.square(selectiveScan({ ...x, A, D }))) as tf.Scalar;
    const before = lossOf().dataSync()[0];
    const opt = tf.train.sgd(1e-3);
    for (let i = 0; i < 3; i++) opt.minimize(lossOf, false, [A, D]);
    const after = lossOf().dataSync()[0];
    assert(after < before, `loss did not decrease: ${before} -> ${after}`);
    tf.dispose([A, D, ...Object.values(x)]);
    opt.dispose();
  });
}

interface TorchCase {
  dims: Dims;
  deltaSoftplus: boolean;
  inputs: Record<Name, number[]>;
  w: number[];
  y: number[];
  grads: Record<Name, number[]>;
}

/** PyTorch fixtures from model/backend/ssm/testdata/gen_scan_torch.py. */
const TORCH_CASES: TorchCase[] = JSON.parse(
  await Deno.readTextFile(
    new URL("./backend/ssm/testdata/scan_torch.json", import.meta.url),
  ),
).cases;

for (const backend of ["cpu/simd", "wasm/simd", "cpu/js", "wasm/js"]) {
  Deno.test(`selectiveScan output and 7 gradients match PyTorch's selective_scan_ref (float64) on ${backend}`, async () => {
    await useBackend(backend);
    for (const c of TORCH_CASES) {
      const a = {} as Arrays;
      for (const n of NAMES) a[n] = Float64Array.from(c.inputs[n], Math.fround);
      const x = toTensors(a, c.dims);
      const y = selectiveScan(x, c.deltaSoftplus);
      const label = `${backend} ${
        JSON.stringify(c.dims)
      } softplus=${c.deltaSoftplus}`;
      const ey = relErr(y.dataSync(), c.y);
      assert(ey <= 1e-5, `${label} y: relative error ${ey}`);
      const w = tf.tensor(Float32Array.from(c.w), shapes(c.dims).u);
      const g = gradsOf(selectiveScan, x, w, c.deltaSoftplus);
      NAMES.forEach((n, i) => {
        const e = relErr(g[i], c.grads[n]);
        assert(e <= 1e-5, `${label} d${n}: relative error ${e}`);
      });
      tf.dispose([y, w, ...Object.values(x)]);
    }
  });
}

Deno.test("selectiveScan rejects bad inputs naming the field", async () => {
  await useBackend("cpu");
  const dims = { batch: 2, length: 3, dim: 4, state: 2 };
  const x = toTensors(makeArrays(dims, 1), dims);
  assert.throws(
    () => selectiveScan({ ...x, B: tf.zeros([2, 3, 5]) as tf.Tensor3D }),
    (e: Error) => e.message.includes("'B' must have shape [2,3,2]"),
  );
  assert.throws(
    () => selectiveScan({ ...x, D: tf.zeros([4], "int32") as tf.Tensor1D }),
    (e: Error) => e.message.includes("'D' must be float32"),
  );
  assert.throws(
    () =>
      selectiveScan({ ...x, u: tf.zeros([2, 3]) as unknown as tf.Tensor3D }),
    (e: Error) => e.message.includes("'u' must have rank 3"),
  );
  tf.dispose(Object.values(x));
});

// webgpu: Deno's navigator.gpu on Debian's software Vulkan (lavapipe).
const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
if (adapter == null) {
  console.warn(
    "selective_scan_test: no WebGPU adapter (navigator.gpu missing or no Vulkan device); webgpu tests skipped",
  );
}

Deno.test({
  name:
    "selectiveScan webgpu kernels match the cpu kernel (forward and all 7 gradients), bit-identical on rerun",
  ignore: adapter == null,
  fn: async () => {
    await import("@tensorflow/tfjs-backend-webgpu");
    // chunkBytes null: one chunk. A batch row of the "odd sizes" case needs
    // 9·7·(2·5+2) + 7·(5+2) = 805 floats = 3220 bytes: 7000 bytes gives
    // chunks of 2 + 1 rows; 40000 bytes gives 1-row chunks for the
    // window-sized case (14272 floats a row).
    const cases = [
      ...CASES.map((c) => ({ ...c, chunkBytes: null as number | null })),
      { ...CASES[3], name: "odd sizes, chunks of 2+1", chunkBytes: 7000 },
      { ...CASES[4], name: "window-sized, chunked", chunkBytes: 40000 },
    ];
    const defaultChunk = webgpuScanOptions.chunkBytes;
    for (const c of cases) {
      webgpuScanOptions.chunkBytes = c.chunkBytes ?? defaultChunk;
      const a = makeArrays(c.dims, 41);
      const w = lossWeights(c.dims, 9);
      const run = async (backend: string) => {
        await useBackend(backend);
        const x = toTensors(a, c.dims);
        const wt = tf.tensor(Float32Array.from(w), shapes(c.dims).u);
        const y = selectiveScan(x, c.softplus);
        const f = (...args: tf.Tensor[]) => {
          const named = {} as Record<Name, tf.Tensor>;
          NAMES.forEach((n, i) => named[n] = args[i]);
          return tf.sum(
            tf.mul(
              selectiveScan(
                named as unknown as ScanInputs,
                c.softplus,
              ),
              wt,
            ),
          );
        };
        const gs = tf.grads(f)(NAMES.map((n) => x[n]));
        const out = [
          await y.data(),
          ...(await Promise.all(gs.map((g) => g.data()))),
        ];
        tf.dispose([y, wt, ...gs, ...Object.values(x)]);
        return out;
      };
      const ref = await run("cpu");
      const got = await run("webgpu");
      const again = await run("webgpu");
      got.forEach((v, i) =>
        assert.deepStrictEqual(again[i], v, `webgpu ${c.name}: rerun differs`)
      );
      ["y", ...NAMES.map((n) => "d" + n)].forEach((label, i) => {
        const e = relErr(got[i], ref[i]);
        assert(e <= 1e-4, `webgpu ${c.name} ${label}: relative error ${e}`);
      });
    }
    webgpuScanOptions.chunkBytes = defaultChunk;
    await useBackend("cpu");
  },
});
