/**
 * The paper-size models run forward on wasm at 224×224 (batch 1) with both
 * heads. The slowest model test (≈ 1–2 min: four ~100M-parameter builds).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mambaVisionB, merbaBase } from "../model/config.ts";
import { buildModel } from "../model/model.ts";
import { initBackend } from "../model/backend/runtime.ts";

for (
  const [name, cfg] of [
    ["MERba, DGCM head", merbaBase({ head: "dgcm" })],
    ["MERba, linear head", merbaBase({ head: "linear", numClasses: 7 })],
    [
      "MambaVision-B, linear head",
      mambaVisionB({ head: "linear", numClasses: 7 }),
    ],
    ["MambaVision-B, DGCM head", mambaVisionB({ head: "dgcm" })],
  ] as const
) {
  Deno.test(`${name} runs forward on wasm at 224×224 (batch 1) with finite outputs of the right shapes`, async () => {
    await initBackend("wasm");
    const m = buildModel(cfg, 1);
    const x = tf.randomUniform(
      [1, 224, 224, 2],
      -1,
      1,
      "float32",
      7,
    ) as tf.Tensor4D;
    const out = m.apply(x, { training: false, features: true });
    assert.deepEqual(out.features!.map((f) => f.shape), [
      [1, 56, 56, 128],
      [1, 28, 28, 256],
      [1, 14, 14, 512],
      [1, 7, 7, 1024],
    ]);
    const heads = cfg.head === "dgcm"
      ? [out.coarse!, out.fine!]
      : [out.logits!];
    for (const h of heads) {
      assert.deepEqual(h.shape, [1, cfg.head === "dgcm" ? 4 : 7]);
      assert.ok(h.dataSync().every(Number.isFinite));
    }
    tf.dispose([x, ...out.features!, ...heads]);
    m.dispose();
  });
}
