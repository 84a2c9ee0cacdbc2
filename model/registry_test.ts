import assert from "node:assert/strict";
import {
  mambaVisionB,
  merbaBase,
  ModelConfigError,
  validateModelConfig,
} from "./config.ts";
import { countParams } from "./model.ts";
import {
  createModel,
  listModels,
  MODEL_NAMES,
  modelConfig,
  UnknownModelError,
} from "./registry.ts";
import { initBackend } from "./backend/runtime.ts";

Deno.test("every listed model and alias gives a valid configuration", () => {
  assert.deepEqual(listModels(), [
    "merba-b",
    "mambavision-b",
    "merba-small",
    "mambavision-small",
    "merba-laptop",
    "mambavision-laptop",
    "merba-smoke",
    "mambavision-smoke",
  ]);
  for (const name of MODEL_NAMES) {
    const config = modelConfig(name);
    validateModelConfig(config);
    assert.equal(
      config.family,
      name.startsWith("merba") ? "merba" : "mambavision",
      name,
    );
  }
});

Deno.test("the paper's names are the library's reference configurations, with the paper's parameter counts", () => {
  assert.deepEqual(modelConfig("merba-b"), merbaBase());
  assert.deepEqual(modelConfig("merba"), merbaBase());
  assert.deepEqual(modelConfig("mambavision-b"), mambaVisionB());
  assert.deepEqual(modelConfig("mambavision"), mambaVisionB());
  // reference mamba_vision_B (3 input channels, 1000 classes): 97.7M parameters.
  const mv = countParams(
    modelConfig("mambavision-b", { inChannels: 3, numClasses: 1000 }),
  );
  assert.ok(Math.abs(mv - 97.7e6) < 0.05e6, `${mv}`);
  assert.equal(countParams(modelConfig("merba-b")), countParams(merbaBase()));
});

Deno.test("the smaller sizes keep the paper's stage geometry, MambaVision at MERba's widths", () => {
  for (const scale of ["small", "laptop", "smoke"]) {
    const merba = modelConfig(`merba-${scale}`);
    const mv = modelConfig(`mambavision-${scale}`);
    assert.deepEqual(mv.dims, merba.dims, scale);
    assert.deepEqual(mv.depths, merba.depths, scale);
    assert.equal(mv.inputSize, merba.inputSize, scale);
    assert.deepEqual(mv.attentionDepths, [0, 0, 0, 0], scale);
  }
  assert.deepEqual(modelConfig("merba-laptop").dims, [32, 64, 128, 256]);
  assert.equal(modelConfig("merba-smoke").inputSize, 64);
  assert.equal(modelConfig("merba-small").inputSize, 128);
});

Deno.test("overrides merge deeply: the mixer key by key, lists replaced", () => {
  const c = modelConfig("merba-laptop", {
    mixer: { dState: 16 },
    scans: ["h"],
    head: "linear",
  });
  assert.deepEqual(c.mixer, {
    dState: 16,
    dConv: 3,
    expand: 1,
    dtBiasTwice: true,
  });
  assert.deepEqual(c.scans, ["h"]);
  assert.equal(c.head, "linear");
  assert.deepEqual(c.dims, [32, 64, 128, 256]);
  // the registry is not changed through a returned config
  c.dims.push(512);
  assert.deepEqual(modelConfig("merba-laptop").dims, [32, 64, 128, 256]);
  // undefined leaves a field as it is
  assert.equal(modelConfig("merba-b", { dropout: undefined }).dropout, 0.1);
});

Deno.test("an unknown name is one error listing the known names", () => {
  assert.throws(
    () => modelConfig("merba-xl"),
    (e: unknown) =>
      e instanceof UnknownModelError &&
      e.message ===
        `unknown model "merba-xl"; known models: ${MODEL_NAMES.join(", ")}` &&
      MODEL_NAMES.every((n) => e.message.includes(n)),
  );
  assert.throws(() => createModel("nope"), UnknownModelError);
});

Deno.test("createModel builds the named size with overrides and a seed", async () => {
  await initBackend("cpu");
  const a = createModel("merba-smoke", { head: "linear", numClasses: 3 }, 7);
  try {
    assert.equal(a.config.numClasses, 3);
    assert.equal(
      a.numParams(),
      countParams(
        modelConfig("merba-smoke", { head: "linear", numClasses: 3 }),
      ),
    );
  } finally {
    a.dispose();
  }
  assert.throws(
    () => createModel("merba-smoke", { windowSize: 3 }),
    ModelConfigError,
  );
});
