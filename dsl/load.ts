/**
 * Loading specs from files: TypeScript (`export default experiment({...})`)
 * or YAML (same schema). A spec may name `extends: ./other.yaml` (or a `.ts`
 * spec), resolved relative to the file that names it and deep-merged under
 * it (see `dsl/merge.ts`); chains are followed and cycles rejected. The base
 * may be partial: only the merged result has to be a valid spec.
 *
 * @module
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { SpecError } from "./errors.ts";
import { deepMerge, isPlainObject } from "./merge.ts";
import type { Experiment } from "./schema.ts";
import { validateExperiment } from "./spec.ts";

/** A raw (not yet validated) spec object. */
export type RawSpec = Record<string, unknown>;

async function readOne(file: string): Promise<RawSpec> {
  let value: unknown;
  if (/\.(ya?ml)$/i.test(file)) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new SpecError([{
        path: "",
        message: `cannot read: ${(e as Error).message}`,
      }], file);
    }
    try {
      value = parseYaml(text);
    } catch (e) {
      if (e instanceof YAMLParseError) {
        const pos = e.linePos?.[0];
        const at = pos ? `line ${pos.line}, column ${pos.col}: ` : "";
        throw new SpecError([{ path: "", message: `${at}${e.message}` }], file);
      }
      throw e;
    }
  } else if (/\.(m?ts|m?js)$/i.test(file)) {
    try {
      await Deno.stat(file);
    } catch (e) {
      throw new SpecError([{
        path: "",
        message: `cannot read: ${(e as Error).message}`,
      }], file);
    }
    const mod = await import(pathToFileURL(file).href);
    if (!("default" in mod)) {
      throw new SpecError([{
        path: "",
        message: "a TypeScript spec must `export default experiment({...})`",
      }], file);
    }
    value = mod.default;
  } else {
    throw new SpecError([{
      path: "",
      message: "unknown spec format (expected .ts, .js, .yaml or .yml)",
    }], file);
  }
  if (!isPlainObject(value)) {
    throw new SpecError([{
      path: "",
      message: `expected the spec to be an object, got ${
        value === null ? "null" : Array.isArray(value) ? "a list" : typeof value
      }`,
    }], file);
  }
  return value;
}

/**
 * Reads a spec file and resolves its `extends` chain. Returns the merged
 * raw spec (no `extends` key left); throws a {@link SpecError} naming the
 * file for unreadable files, YAML syntax errors (with line and column),
 * missing bases and cycles.
 */
export async function loadRawSpec(path: string): Promise<RawSpec> {
  return await loadChain(resolve(path), []);
}

async function loadChain(file: string, seen: string[]): Promise<RawSpec> {
  if (seen.includes(file)) {
    throw new SpecError([{
      path: "extends",
      message: `cycle: ${[...seen, file].join(" → ")}`,
    }], seen[seen.length - 1]);
  }
  const raw = await readOne(file);
  const { extends: parent, ...rest } = raw;
  if (parent === undefined) return rest;
  if (typeof parent !== "string" || parent === "") {
    throw new SpecError([{
      path: "extends",
      message: `expected a file path, got ${JSON.stringify(parent)}`,
    }], file);
  }
  const parentFile = isAbsolute(parent)
    ? parent
    : resolve(dirname(file), parent);
  let base: RawSpec;
  try {
    base = await loadChain(parentFile, [...seen, file]);
  } catch (e) {
    if (
      e instanceof SpecError &&
      e.issues.some((i) => i.message.startsWith("cannot read"))
    ) {
      throw new SpecError([{
        path: "extends",
        message: `cannot read ${parentFile}`,
      }], file);
    }
    throw e;
  }
  return deepMerge(base, rest);
}

/** Loads and validates a spec file (no preset or overrides applied). */
export async function loadExperiment(path: string): Promise<Experiment> {
  return validateExperiment(await loadRawSpec(path), path);
}
