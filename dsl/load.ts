/**
 * Loading specs from files: TypeScript (`export default experiment({...})`)
 * or YAML (same schema). A spec may name `extends: ./other.yaml` (or a `.ts`
 * spec), resolved relative to the file that names it and deep-merged under
 * it (see `dsl/merge.ts`); chains are followed and cycles rejected. The base
 * may be partial: only the merged result has to be a valid spec.
 *
 * **A spec is code when it is `.ts` (or `.js`), or when it extends one**: the
 * loader imports and runs that module with the permissions of the process
 * (`deno task run`: files, environment, FFI, system information and
 * subprocesses; no network), also under `--dry-run`. Run only TypeScript
 * specs you trust. A YAML spec on its own is data; when its `extends` chain
 * reaches a TypeScript file, {@link loadRawSpec} says so in a one-line
 * notice. A TypeScript spec that throws or cannot import its modules is a
 * {@link SpecError} naming the file.
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

const isYaml = (file: string) => /\.(ya?ml)$/i.test(file);
const isCode = (file: string) => /\.(m?ts|m?js)$/i.test(file);

async function readOne(file: string): Promise<RawSpec> {
  let value: unknown;
  if (isYaml(file)) {
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
  } else if (isCode(file)) {
    try {
      await Deno.stat(file);
    } catch (e) {
      throw new SpecError([{
        path: "",
        message: `cannot read: ${(e as Error).message}`,
      }], file);
    }
    let mod: Record<string, unknown>;
    try {
      mod = await import(pathToFileURL(file).href);
    } catch (e) {
      throw new SpecError([{
        path: "",
        message: `the spec failed while loading: ${oneLine(e)}`,
      }], file);
    }
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
 * An error thrown by a spec module as one line: `Name: message`, colour
 * codes removed, and a module-resolution error's `at FILE:LINE:COL` frame
 * kept as `(at FILE:LINE:COL)`.
 */
function oneLine(e: unknown): string {
  // deno-lint-ignore no-control-regex
  const plain = (t: string) => t.replace(/\x1b\[[0-9;]*m/g, "");
  const text = plain(
    e instanceof Error ? `${e.name}: ${e.message}` : String(e),
  );
  const [first, ...rest] = text.split("\n");
  const at = rest.map((l) => /^\s*at (file:\/\/\S+)/.exec(l)?.[1]).find(
    Boolean,
  );
  return at
    ? `${first.trim()} (at ${decodeURIComponent(new URL(at).pathname)})`
    : first.trim();
}

/** Options of {@link loadRawSpec}. */
export interface LoadOptions {
  /**
   * receives one-line notices (a YAML spec extending a TypeScript spec,
   * which runs as code); default: printed on stderr.
   */
  onNotice?: (message: string) => void;
}

/**
 * Reads a spec file and resolves its `extends` chain. Returns the merged
 * raw spec (no `extends` key left); throws a {@link SpecError} naming the
 * file for unreadable files, YAML syntax errors (with line and column),
 * TypeScript specs that throw while loading, missing bases and cycles.
 * TypeScript specs run as code (see the module doc); when a YAML spec
 * extends one, a notice says so.
 */
export async function loadRawSpec(
  path: string,
  options: LoadOptions = {},
): Promise<RawSpec> {
  const notice = options.onNotice ?? ((m: string) => console.error(m));
  return await loadChain(resolve(path), [], notice);
}

async function loadChain(
  file: string,
  seen: string[],
  notice: (message: string) => void,
): Promise<RawSpec> {
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
  if (isYaml(file) && isCode(parentFile)) {
    notice(
      `note: ${file} extends ${parentFile}, a TypeScript spec: it runs as code, with this process's permissions`,
    );
  }
  let base: RawSpec;
  try {
    base = await loadChain(parentFile, [...seen, file], notice);
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
