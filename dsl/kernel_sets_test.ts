import { strict as assert } from "node:assert";
import { kernelSetOf } from "./kernel_sets.ts";

Deno.test("kernelSetOf takes context.kernelSet as recorded and derives it for records that predate it", () => {
  assert.equal(kernelSetOf({ kernelSet: "tensorflow-gpu" }), "tensorflow-gpu");
  assert.equal(
    kernelSetOf({ backend: { name: "wasm", blas: { path: "x" } } }),
    "wasm+openblas",
  );
  assert.equal(kernelSetOf({ backend: { name: "wasm", blas: null } }), "wasm");
  assert.equal(kernelSetOf({ backend: { name: "cpu" } }), "cpu");
  assert.equal(kernelSetOf({ backend: null }), null);
  assert.equal(kernelSetOf(undefined), null);
});
