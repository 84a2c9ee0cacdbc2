/**
 * The model registry (as timm's): models by name. {@link listModels} names
 * the sizes, {@link modelConfig} gives a size's configuration with
 * overrides merged in deeply, {@link createModel} builds it. The sizes are
 * declared in `sizes.ts`.
 *
 * @example
 * ```ts
 * import { initBackend } from "./backend/runtime.ts";
 * import { createModel, listModels } from "./registry.ts";
 *
 * await initBackend("cpu");
 * listModels(); // ["merba-b", "mambavision-b", "merba-small", …]
 * const model = createModel("merba-smoke", { head: "linear", numClasses: 3 }, 7);
 * model.numParams();
 * ```
 *
 * @module
 */
import { buildModel } from "./model.ts";
import { modelConfig } from "./sizes.ts";
import type { MerModel, ModelOverrides } from "./types.ts";

export {
  listModels,
  MODEL_ALIASES,
  MODEL_NAMES,
  MODEL_SIZES,
  modelConfig,
  type ModelName,
  type ModelSize,
  modelSize,
  UnknownModelError,
} from "./sizes.ts";

/**
 * Builds the size `name` with `overrides` merged in deeply, its parameters
 * initialised from `seed` (default 0). Throws `UnknownModelError` for an
 * unknown name and `ModelConfigError` for an invalid configuration.
 */
export function createModel(
  name: string,
  overrides: ModelOverrides = {},
  seed = 0,
): MerModel {
  return buildModel(modelConfig(name, overrides), seed);
}
