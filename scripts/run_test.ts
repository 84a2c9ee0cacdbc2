import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { backendKernelSet } from "../dsl/store.ts";
import { kernelLine, startBanner, wasmHeapBytes } from "./run.ts";

Deno.test("startBanner says when the data is the synthetic test-bed and which preset runs", () => {
  const spec = {
    name: "t7",
    description: "scan ablation",
    dataset: { name: "synthetic-dfme" },
  };
  const plain = startBanner(spec, undefined, "runs");
  assert.match(plain, /^t7: scan ablation/);
  assert.match(plain, /synthetic test-bed, not real data/);
  assert.match(plain, /preset: {2}none/);
  assert.match(plain, /runs\/t7\//);
  const real = startBanner(
    { ...spec, dataset: { name: "dfme" } },
    "paper",
    "out",
  );
  assert.doesNotMatch(real, /synthetic/);
  assert.match(real, /preset: {2}paper/);
});

Deno.test("wasmHeapBytes reads the wasm heap only when wasm is the active backend", async () => {
  // imported here: loading the model library registers the webgpu backend,
  // which the in-process dry-run tests above must not see
  const { initBackend } = await import("../model/mod.ts");
  const previous = tf.engine().backendName;
  await initBackend("wasm");
  const before = wasmHeapBytes();
  assert.ok(before !== null && before > 0 && before % 65536 === 0, `${before}`);
  // a 64 MiB tensor makes the heap grow to hold it
  const t = tf.zeros([16, 2 ** 20]);
  const after = wasmHeapBytes()!;
  assert.ok(
    after >= before + 64 * 2 ** 20 || after >= 64 * 2 ** 20,
    `${after}`,
  );
  t.dispose();
  await tf.setBackend("cpu");
  assert.equal(wasmHeapBytes(), null);
  if (previous && previous !== "cpu") await tf.setBackend(previous);
});

Deno.test("backendKernelSet labels a backend by name and BLAS; kernelLine says how to get off a slow path", () => {
  assert.equal(
    backendKernelSet({ name: "wasm", blas: { path: "x" } }),
    "wasm+openblas",
  );
  assert.equal(backendKernelSet({ name: "wasm", blas: null }), "wasm");
  assert.equal(backendKernelSet("cpu"), "cpu");
  assert.match(
    kernelLine("wasm+openblas"),
    /kernels: wasm\+openblas — .*fast CPU path/,
  );
  assert.match(
    kernelLine("wasm"),
    /slow path: install OpenBLAS .*apt-get install libopenblas0-pthread/,
  );
  assert.match(kernelLine("wasm", "0"), /slow path: unset MERBA_BLAS/);
  assert.match(kernelLine("cpu"), /use --backend wasm/);
  assert.match(kernelLine("webgpu"), /kernels: webgpu — WebGPU/);
});

Deno.test("the default backend is chosen only when neither the spec, its preset, --backend nor --set backend names one", async () => {
  const { backendUnset } = await import("./run.ts");
  assert.equal(backendUnset({ name: "x" }, {}), true);
  assert.equal(backendUnset({ name: "x", backend: "cpu" }, {}), false);
  assert.equal(backendUnset({ name: "x" }, { backend: "wasm" }), false);
  assert.equal(
    backendUnset({ name: "x" }, { sets: [{ path: "backend" }] }),
    false,
  );
  const raw = { name: "x", presets: { gpu: { backend: "webgpu" }, smoke: {} } };
  assert.equal(backendUnset(raw, { preset: "gpu" }), false);
  assert.equal(backendUnset(raw, { preset: "smoke" }), true);
});
