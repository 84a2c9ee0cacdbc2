import { strict as assert } from "node:assert";
import * as model from "../model/mod.ts";
import { SpecError } from "./errors.ts";
import { resolveVariants } from "./plan.ts";
import { validateExperiment } from "./spec.ts";

const spec = (m: Record<string, unknown>, variants = {}, imageSize = 64) =>
  validateExperiment({
    name: "bases",
    dataset: { name: "synthetic-dfme", imageSize },
    protocol: { kind: "fixedSplit" },
    model: m,
    variants,
  });

Deno.test("a spec's base names a registry size: the same config as its fields spelled out", () => {
  const named = resolveVariants(
    spec({ base: "merba-laptop", head: "linear" }, {
      mv: { model: { base: "mambavision-laptop" } },
      tiny: { model: { base: "merba-smoke", dims: [8, 16, 32, 32] } },
    }),
    model,
    { numClasses: 7 },
  );
  const laptop = {
    stemDim: 16,
    dims: [32, 64, 128, 256],
    depths: [1, 1, 2, 1],
    heads: [1, 2, 4, 8],
    windowSize: 2,
    dropPath: 0.1,
  };
  const spelled = resolveVariants(
    spec({
      base: "merba",
      head: "linear",
      ...laptop,
      attentionDepths: [0, 1, 1, 1],
    }, {
      mv: {
        model: {
          base: "mambavision-b",
          attentionDepths: [0, 0, 0, 0],
          convStages: 2,
        },
      },
      tiny: {
        model: {
          stemDim: 8,
          dims: [8, 16, 32, 32],
          depths: [1, 1, 1, 1],
          heads: [1, 1, 2, 4],
          dropPath: 0,
        },
      },
    }),
    model,
    { numClasses: 7 },
  );
  assert.deepEqual(named, spelled);
  assert.equal(named[0].modelConfig.family, "mambavision");
  assert.equal(named[1].modelConfig.head, "linear");
});

Deno.test("base aliases: merba and mambavision are the paper's models", () => {
  const [m, mv] = resolveVariants(
    spec(
      { base: "merba" },
      { m: {}, mv: { model: { base: "mambavision" } } },
      224,
    ),
    model,
    { numClasses: 7 },
  ).map((v) => v.modelConfig);
  assert.deepEqual(m, model.merbaBase());
  assert.deepEqual(mv, model.mambaVisionB());
});

Deno.test("an unknown base is a spec error listing the registry's names", () => {
  assert.throws(
    () => spec({ base: "merba-xl" }),
    (e: unknown) =>
      e instanceof SpecError && /model\.base/.test(e.message) &&
      model.MODEL_NAMES.every((n) => e.message.includes(`"${n}"`)),
  );
});
