/**
 * Tests of the GPU benchmark's helpers and of its scan switch: with the
 * fused kernel unregistered the model runs the op-loop reference, and one
 * seeded epoch gives the same loss both ways (wasm backend, tiny sizes).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, validateModelConfig } from "../../model/mod.ts";
import {
  SELECTIVE_SCAN_GRAD_KERNEL,
  SELECTIVE_SCAN_KERNEL,
} from "../../model/backend/ssm/kernels.ts";
import {
  batchSizes,
  benchConfig,
  disableFusedScan,
  labelsOf,
  timeVariant,
  windowFor,
} from "./gpu_bench.ts";

Deno.test("batchSizes splits DFME's 1856 training samples into 14 batches of 128 and one of 64", () => {
  const b = batchSizes(1856, 128);
  assert.equal(b.length, 15);
  assert.deepEqual(b.slice(-2), [128, 64]);
  assert.equal(b.reduce((a, x) => a + x, 0), 1856);
  assert.deepEqual(batchSizes(4, 8), [4]);
});

Deno.test("benchConfig: 7×7 windows at 224 (the paper's MERba-B), tiling windows at small sizes", () => {
  const base = benchConfig({ size: 224, model: "base" });
  assert.deepEqual(base.windowSize, [7, 7, 7, 7]);
  assert.deepEqual(base.dims, [128, 256, 512, 1024]);
  validateModelConfig(base);
  for (const size of [32, 48, 64, 112]) {
    const c = benchConfig({ size, model: "small" });
    validateModelConfig(c);
  }
  assert.equal(windowFor(56), 7);
  assert.equal(windowFor(16), 8);
  assert.equal(windowFor(6), 6);
  assert.equal(windowFor(1), 1);
});

Deno.test("labelsOf covers all 7 classes in any 7 consecutive samples", () => {
  const l = labelsOf(5, 7, 2);
  assert.deepEqual([...l].sort(), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(labelsOf(0, 3, 0), [0, 3, 6]);
});

Deno.test({
  name:
    "disableFusedScan removes the fused kernels and restores them; fused and op-loop epochs give the same loss",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend("wasm");
    const backend = tf.getBackend();
    assert.ok(tf.getKernel(SELECTIVE_SCAN_KERNEL, backend));
    const restore = disableFusedScan(backend);
    assert.equal(tf.getKernel(SELECTIVE_SCAN_KERNEL, backend), undefined);
    assert.equal(tf.getKernel(SELECTIVE_SCAN_GRAD_KERNEL, backend), undefined);
    restore();
    assert.ok(tf.getKernel(SELECTIVE_SCAN_KERNEL, backend));
    assert.ok(tf.getKernel(SELECTIVE_SCAN_GRAD_KERNEL, backend));

    const o = {
      epochs: 1,
      samples: 2,
      batch: 2,
      size: 32,
      model: "small" as const,
      seed: 3,
    };
    const config = benchConfig(o);
    const fused = await timeVariant(o, "fused", config);
    const loop = await timeVariant(o, "loop", config);
    assert.ok(fused.fusedAvailable);
    assert.ok(Number.isFinite(fused.lastLoss));
    // the fused kernel and the op loop agree to float32 rounding
    assert.ok(
      Math.abs(fused.lastLoss - loop.lastLoss) <=
        1e-4 * Math.abs(loop.lastLoss),
      `fused ${fused.lastLoss} vs loop ${loop.lastLoss}`,
    );
    // the kernels are back after the loop variant
    assert.ok(tf.getKernel(SELECTIVE_SCAN_KERNEL, backend));
  },
});
