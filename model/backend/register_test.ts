import * as tf from "@tensorflow/tfjs";
import { ok as assert } from "node:assert/strict";
import "../mod.ts";
import { registerKernels } from "./register.ts";

Deno.test("importing model/mod.ts registers nothing; registerKernels does, idempotently", () => {
  assert(tf.getKernel("MerbaSelectiveScan", "cpu") === undefined);
  assert(tf.getGradient("MerbaSelectiveScan") === undefined);
  assert(tf.getKernel("UnsortedSegmentSum", "wasm") === undefined);
  assert(tf.findBackendFactory("webgpu") === null);
  registerKernels();
  registerKernels();
  for (const backend of ["cpu", "wasm", "tensorflow", "webgpu"]) {
    assert(tf.getKernel("MerbaSelectiveScan", backend) !== undefined, backend);
    assert(tf.getKernel("MerbaSelectiveScanGrad", backend) !== undefined);
  }
  assert(tf.getGradient("MerbaSelectiveScan") !== undefined);
  assert(tf.getKernel("UnsortedSegmentSum", "wasm") !== undefined);
});
