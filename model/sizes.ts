/**
 * Named model sizes: each a family (MERba or MambaVision) and the fields
 * that differ from the family's reference configuration ({@link merbaBase},
 * {@link mambaVisionB}). The data behind the model registry
 * (`registry.ts`), free of TensorFlow.js so that the spec schema can list
 * the names.
 *
 * | name | what |
 * |---|---|
 * | `merba-b` (`merba`) | the paper's MERba, 224×224 |
 * | `mambavision-b` (`mambavision`) | MambaVision-B as the reference declares it, 224×224 |
 * | `merba-small`, `mambavision-small` | 128×128, half the paper's widths, shallower |
 * | `merba-laptop`, `mambavision-laptop` | 64×64, narrow: the experiments' laptop default |
 * | `merba-smoke`, `mambavision-smoke` | 64×64, tiny: the reproducibility check |
 *
 * Every size keeps the paper's stage geometry: the LGFI stages see 4×4, 2×2
 * and 1×1 windows of the map, as at 224×224 with window 7.
 *
 * @module
 */
import { mambaVisionB, merbaBase, mergeModelConfig } from "./config.ts";
import type { ModelConfig, ModelOverrides } from "./types.ts";

/** A named size: a family and its fields that differ from the family's reference config. */
export interface ModelSize {
  /** the family, whose reference config ({@link merbaBase}, {@link mambaVisionB}) it starts from. */
  family: ModelConfig["family"];
  /** a line on what it is. */
  description: string;
  /** fields over the family's reference configuration. */
  overrides: ModelOverrides;
}

/** The laptop scale's widths and depths (64×64 input, window 2). */
const LAPTOP: ModelOverrides = {
  inputSize: 64,
  stemDim: 16,
  dims: [32, 64, 128, 256],
  depths: [1, 1, 2, 1],
  heads: [1, 2, 4, 8],
  windowSize: 2,
  dropPath: 0.1,
};

/** The smoke scale's widths and depths (64×64 input, window 2). */
const SMOKE: ModelOverrides = {
  inputSize: 64,
  stemDim: 8,
  dims: [8, 16, 32, 64],
  depths: [1, 1, 1, 1],
  heads: [1, 1, 2, 4],
  windowSize: 2,
  dropPath: 0,
};

/** The small scale's widths and depths (128×128 input, window 4). */
const SMALL: ModelOverrides = {
  inputSize: 128,
  stemDim: 32,
  dims: [64, 128, 256, 512],
  depths: [2, 1, 4, 2],
  heads: [2, 4, 8, 16],
  windowSize: 4,
  dropPath: 0.2,
};

/** Every named size, in listing order. */
export const MODEL_SIZES = {
  "merba-b": {
    family: "merba",
    description: "MERba at the paper's scale (224×224, MambaVision-B widths)",
    overrides: {},
  },
  "mambavision-b": {
    family: "mambavision",
    description: "MambaVision-B as the reference declares it (224×224)",
    overrides: {},
  },
  "merba-small": {
    family: "merba",
    description: "MERba at 128×128, half the paper's widths, shallower stages",
    overrides: { ...SMALL, attentionDepths: [0, 2, 2, 2] },
  },
  "mambavision-small": {
    family: "mambavision",
    description: "MambaVision-B at merba-small's widths and depths",
    overrides: SMALL,
  },
  "merba-laptop": {
    family: "merba",
    description:
      "MERba at 64×64, narrow stages: the experiments' laptop default",
    overrides: { ...LAPTOP, attentionDepths: [0, 1, 1, 1] },
  },
  "mambavision-laptop": {
    family: "mambavision",
    description: "MambaVision-B at merba-laptop's widths and depths",
    overrides: LAPTOP,
  },
  "merba-smoke": {
    family: "merba",
    description: "a tiny MERba at 64×64: the reproducibility check",
    overrides: { ...SMOKE, attentionDepths: [0, 1, 1, 1] },
  },
  "mambavision-smoke": {
    family: "mambavision",
    description: "MambaVision-B at merba-smoke's widths and depths",
    overrides: SMOKE,
  },
} as const satisfies Record<string, ModelSize>;

/** Other names of sizes: the families' reference configurations. */
export const MODEL_ALIASES = {
  merba: "merba-b",
  mambavision: "mambavision-b",
} as const satisfies Record<string, keyof typeof MODEL_SIZES>;

/** A named size. */
export type ModelName = keyof typeof MODEL_SIZES;

/** Every name a size can be given by: the sizes, then the aliases. */
export const MODEL_NAMES = [
  ...Object.keys(MODEL_SIZES) as ModelName[],
  ...Object.keys(MODEL_ALIASES) as (keyof typeof MODEL_ALIASES)[],
] as const;

/** A name of the registry is unknown; the message lists the known names. */
export class UnknownModelError extends Error {
  /** the unknown name. */
  readonly modelName: string;
  /** Creates the error for `name`. */
  constructor(name: string) {
    super(
      `unknown model ${JSON.stringify(name)}; known models: ${
        MODEL_NAMES.join(", ")
      }`,
    );
    this.name = "UnknownModelError";
    this.modelName = name;
  }
}

/** The names of the sizes (aliases not included), in listing order. */
export function listModels(): ModelName[] {
  return Object.keys(MODEL_SIZES) as ModelName[];
}

/**
 * The size named `name` (a size or an alias); throws
 * {@link UnknownModelError} for any other name.
 */
export function modelSize(name: string): ModelSize {
  const key = Object.hasOwn(MODEL_ALIASES, name)
    ? MODEL_ALIASES[name as keyof typeof MODEL_ALIASES]
    : name;
  if (!Object.hasOwn(MODEL_SIZES, key)) throw new UnknownModelError(name);
  return MODEL_SIZES[key as ModelName];
}

/**
 * The configuration of the size `name` with `overrides` merged in deeply
 * (not validated: see `validateModelConfig`). Throws
 * {@link UnknownModelError} for an unknown name.
 *
 * @example
 * ```ts
 * import { modelConfig } from "./sizes.ts";
 * modelConfig("merba-laptop", { head: "linear", numClasses: 3 });
 * ```
 */
export function modelConfig(
  name: string,
  overrides: ModelOverrides = {},
): ModelConfig {
  const size = modelSize(name);
  const reference = size.family === "mambavision"
    ? mambaVisionB(size.overrides)
    : merbaBase(size.overrides);
  return mergeModelConfig(reference, overrides);
}
