import assert from "node:assert/strict";
import {
  mambaVisionB,
  merbaBase,
  ModelConfigError,
  stageGeometry,
  transformerBlocks,
  validateModelConfig,
} from "./config.ts";
import { countParams } from "./model.ts";
import type { ModelConfig } from "./types.ts";

function rejects(config: unknown, pattern: RegExp) {
  assert.throws(
    () => validateModelConfig(config as ModelConfig),
    (e: unknown) => {
      assert.ok(e instanceof ModelConfigError, `not a ModelConfigError: ${e}`);
      assert.match((e as Error).message, pattern);
      return true;
    },
  );
}

Deno.test("presets validate and have the documented geometry at 224×224", () => {
  validateModelConfig(merbaBase());
  validateModelConfig(mambaVisionB());
  assert.deepEqual(
    stageGeometry(merbaBase()).map((g) => [g.height, g.dim, g.kind]),
    [
      [56, 128, "conv"],
      [28, 256, "mixer"],
      [14, 512, "mixer"],
      [7, 1024, "mixer"],
    ],
  );
  assert.deepEqual(stageGeometry(mambaVisionB()).map((g) => g.window), [
    8,
    8,
    14,
    7,
  ]);
});

Deno.test("transformerBlocks follows the reference placement (odd: depth//2+1.., even: depth//2..)", () => {
  assert.deepEqual([...transformerBlocks(10)], [5, 6, 7, 8, 9]);
  assert.deepEqual([...transformerBlocks(5)], [3, 4]);
  assert.deepEqual([...transformerBlocks(3)], [2]);
  assert.deepEqual([...transformerBlocks(1)], []);
});

Deno.test("MambaVision-B parameter count matches the reference's 97.7M less its 1000-class head and one input channel", () => {
  // reference mamba_vision_B (3 input channels, 1000 classes): 97.7M parameters.
  const ours = countParams(mambaVisionB({ inChannels: 3, numClasses: 1000 }));
  assert.ok(Math.abs(ours - 97.7e6) < 0.05e6, `${ours}`);
  assert.equal(
    countParams(mambaVisionB({ numClasses: 7 })),
    ours - 64 * 9 - (1024 * 993 + 993),
  );
});

Deno.test("validateModelConfig names the field and the value in its errors", () => {
  rejects(
    merbaBase({ windowSize: [7, 7, 5, 7] }),
    /^windowSize\[2\]: expected a window that tiles the 14×14 map, got 5$/,
  );
  rejects(
    merbaBase({ windowSize: 5 }),
    /^windowSize: expected a window that tiles the 28×28 map, got 5$/,
  );
  rejects(
    merbaBase({ scans: ["h", "d" as never] }),
    /^scans\[1\]: unknown scan kind "d"/,
  );
  rejects(merbaBase({ scans: ["h", "h"] }), /^scans\[1\]: duplicate scan "h"/);
  rejects(merbaBase({ scans: [] }), /^scans: expected a non-empty array/);
  rejects(
    merbaBase({ heads: [2, 4, 7, 16] }),
    /^heads\[2\]: expected a head count dividing dims\[2\] = 512, got 7/,
  );
  rejects(merbaBase({ depths: [3, 1, 8] }), /^depths: expected 4 entries/);
  rejects(
    merbaBase({ dims: [128, 0, 512, 1024] }),
    /^dims\[1\]: expected an integer ≥ 1, got 0/,
  );
  rejects(
    merbaBase({ inputSize: -3 }),
    /^inputSize: expected an integer ≥ 1, got -3/,
  );
  rejects(
    merbaBase({ dropout: 1 }),
    /^dropout: expected a number in \[0, 1\), got 1/,
  );
  rejects(
    merbaBase({ head: "softmax" as never }),
    /^head: expected one of "linear", "dgcm", got "softmax"/,
  );
  rejects(merbaBase({ convStages: 5 }), /^convStages: expected at most 4/);
  rejects(
    merbaBase({ layerScale: 0 }),
    /^layerScale: expected null or a positive number, got 0/,
  );
  rejects(
    mambaVisionB({ attentionDepths: [0, 0, 2, 0] }),
    /^attentionDepths\[2\]/,
  );
  rejects({ ...merbaBase(), extra: 1 }, /^extra: unknown field/);
  const { mixer: _m, ...noMixer } = merbaBase();
  rejects(noMixer, /^mixer: missing field/);
  rejects(
    merbaBase({ mixer: { dState: 0, dConv: 3, expand: 1, dtBiasTwice: true } }),
    /^mixer.dState: expected an integer ≥ 1, got 0/,
  );
  // MambaVision pads windows that do not tile, as the reference
  validateModelConfig(mambaVisionB({ inputSize: 200 }));
  // global extractor + global attention needs no tiling
  validateModelConfig(
    merbaBase({ windowSize: 5, extractor: "global", attention: "global" }),
  );
});
