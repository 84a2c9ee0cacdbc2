/**
 * Reading a model configuration from a JSON file: a full {@link ModelConfig},
 * or a partial one whose `family` selects the preset it is laid over
 * (`merba` → {@link merbaBase}, `mambavision` → {@link mambaVisionB}).
 *
 * @module
 */
import {
  mambaVisionB,
  merbaBase,
  ModelConfigError,
  validateModelConfig,
} from "./config.ts";
import type { ModelConfig } from "./types.ts";

/** Completes a partial configuration from its family's preset and validates it. */
export function resolveModelConfig(partial: Partial<ModelConfig>): ModelConfig {
  if (
    typeof partial !== "object" || partial === null || Array.isArray(partial)
  ) {
    throw new ModelConfigError(
      "config",
      `expected a JSON object, got ${JSON.stringify(partial)}`,
    );
  }
  const family = partial.family ?? "merba";
  if (family !== "merba" && family !== "mambavision") {
    throw new ModelConfigError(
      "family",
      `expected one of "merba", "mambavision", got ${JSON.stringify(family)}`,
    );
  }
  const preset = family === "merba" ? merbaBase() : mambaVisionB();
  const config = {
    ...preset,
    ...partial,
    mixer: { ...preset.mixer, ...(partial.mixer ?? {}) },
  } as ModelConfig;
  validateModelConfig(config);
  return config;
}

/** Reads a (partial) configuration JSON file; errors name the file. */
export async function readModelConfig(path: string): Promise<ModelConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read config (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: invalid JSON (${(e as Error).message})`);
  }
  try {
    return resolveModelConfig(json as Partial<ModelConfig>);
  } catch (e) {
    if (e instanceof ModelConfigError) {
      throw new ModelConfigError(
        e.field,
        `${e.message.slice(e.field.length + 2)} (in ${path})`,
      );
    }
    throw e;
  }
}
