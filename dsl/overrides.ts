/**
 * Command-line overrides of a spec: `--preset`, `--set a.b=v`, `--seed`,
 * `--data NAME=ROOT`, `--backend`, and the run flags (`--variant`, `--out`,
 * `--jobs`, `--shard`, `--dry-run`, `--help`), parsed with `node:util`'s
 * `parseArgs`. Bad flags raise a {@link CliError} naming the flag.
 *
 * Order of application: the spec file (with its `extends` chain), then the
 * preset, then every `--set` in the order given, then `--seed`, `--data` and
 * `--backend`. The result is validated after each stage, so an error names
 * the stage that caused it.
 *
 * @module
 */
import * as nodeUtil from "node:util";
import { parse as parseYaml } from "yaml";
import { CliError, SpecError } from "./errors.ts";
import { deepMerge, setPath } from "./merge.ts";
import type { RawSpec } from "./load.ts";
import { BACKEND_NAMES, type Experiment } from "./schema.ts";
import { validateExperiment } from "./spec.ts";

// `node:util`'s parseArgs, typed locally: @types/node 14 (pulled in by
// @types/cli-progress) shadows Deno's node types when both are in one
// program, and it predates parseArgs.
interface ParsedFlags {
  preset?: string;
  set?: string[];
  variant?: string[];
  seed?: string[];
  data?: string;
  backend?: string;
  out?: string;
  jobs?: string;
  shard?: string;
  "dry-run"?: boolean;
  "no-redo"?: boolean;
  "allow-mixed-kernels"?: boolean;
  verbose?: boolean;
  help?: boolean;
}
const parseArgs = (nodeUtil as unknown as {
  parseArgs(config: {
    args: string[];
    allowPositionals: boolean;
    strict: boolean;
    options: Record<
      string,
      { type: "string" | "boolean"; multiple?: boolean; short?: string }
    >;
  }): { values: ParsedFlags; positionals: string[] };
}).parseArgs;

/** A backend name. */
export type BackendName = typeof BACKEND_NAMES[number];

/** One `--set path=value`. */
export interface SetOverride {
  /** dotted field path, e.g. `train.optimizer.lr`. */
  path: string;
  /** the value, parsed as YAML (numbers, booleans, null, `[h, v]`, `{a: 1}`). */
  value: unknown;
  /** the VALUE as typed (for error messages; default: the value as JSON). */
  text?: string;
}

/** Overrides that change the spec. */
export interface SpecOverrides {
  /** apply `presets[preset]`. */
  preset?: string;
  /** `--set` overrides, in order. */
  sets?: SetOverride[];
  /** replaces `seeds`. */
  seeds?: number[];
  /** points the dataset at a corpus: sets `dataset.name` and `dataset.root`. */
  data?: { name: string; root: string };
  /** replaces `backend`. */
  backend?: BackendName;
}

/** Everything `deno task run` accepts. */
export interface RunArgs extends SpecOverrides {
  /** the spec file. */
  spec: string;
  /** only these variants (empty: all). */
  variants: string[];
  /** run store root (default `runs`). */
  out: string;
  /** parallel workers (default: number of cores). */
  jobs: number;
  /** run only shard `index` (1-based) of `count`. */
  shard?: { index: number; count: number };
  /** print the resolved spec and the plan; run nothing. */
  dryRun: boolean;
  /** fail damaged finished jobs (naming the file) instead of redoing them. */
  noRedo: boolean;
  /** resume a store whose finished jobs ran on another kernel set. */
  allowMixedKernels: boolean;
  /** list every report file written at the end. */
  verbose: boolean;
  /** print usage. */
  help: boolean;
}

/** The usage text of `deno task run`. */
export const USAGE = `Usage: deno task run SPEC [options]

Runs the experiment SPEC (.ts or .yaml): plans variant × seed × fold jobs,
skips finished ones, trains the rest, writes runs/<experiment>/report/.

Options:
  --preset NAME        apply the spec's preset NAME (e.g. smoke, paper)
  --set PATH=VALUE     override a field; VALUE is YAML (2, 1e-4, true, [h,v])
                       (repeatable; applied after the preset)
  --variant NAME       run only this variant (repeatable)
  --seed N[,N…]        replace the root seeds (repeatable)
  --data NAME=ROOT     use corpus NAME at ROOT (sets dataset.name and .root)
  --backend B          wasm | cpu | webgpu | tensorflow
  --out DIR            run store root (default: runs)
  --jobs N             parallel workers (default: number of cores)
  --shard I/N          run only the I-th (1-based) of N parts of the plan
  --dry-run            print the resolved spec and the job plan, run nothing
  --no-redo            a finished job whose files are damaged fails (naming
                       the file) instead of being redone
  --allow-mixed-kernels
                       resume even when finished jobs ran on another kernel
                       set (e.g. MERBA_BLAS=0 after OpenBLAS): one table then
                       mixes both
  --verbose            list every report file written at the end
  --help               this text
`;

function parseInteger(flag: string, text: string, min: number): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new CliError(
      `${flag}: expected an integer, got ${JSON.stringify(text)}`,
    );
  }
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n) || n < min) {
    throw new CliError(`${flag}: expected an integer ≥ ${min}, got ${text}`);
  }
  return n;
}

/** Parses a `--set` argument `path=value` (value as YAML). */
export function parseSet(arg: string): SetOverride {
  const eq = arg.indexOf("=");
  if (eq <= 0) {
    throw new CliError(
      `--set: expected PATH=VALUE, got ${JSON.stringify(arg)}`,
    );
  }
  const path = arg.slice(0, eq).trim();
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(path)) {
    throw new CliError(`--set: invalid field path ${JSON.stringify(path)}`);
  }
  const text = arg.slice(eq + 1);
  let value: unknown;
  try {
    value = text.trim() === "" ? "" : parseYaml(text);
  } catch (e) {
    throw new CliError(
      `--set ${path}: cannot parse value ${JSON.stringify(text)} as YAML: ${
        (e as Error).message.split("\n")[0]
      }`,
    );
  }
  return { path, value, text };
}

/** Parses `deno task run` arguments; throws {@link CliError} on bad flags. */
export function parseRunArgs(
  argv: string[],
  cores = navigator.hardwareConcurrency || 1,
): RunArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        preset: { type: "string" },
        set: { type: "string", multiple: true },
        variant: { type: "string", multiple: true },
        seed: { type: "string", multiple: true },
        data: { type: "string" },
        backend: { type: "string" },
        out: { type: "string" },
        jobs: { type: "string" },
        shard: { type: "string" },
        "dry-run": { type: "boolean" },
        "no-redo": { type: "boolean" },
        "allow-mixed-kernels": { type: "boolean" },
        verbose: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const help = values.help ?? false;
  if (positionals.length > 1) {
    throw new CliError(
      `expected one spec file, got ${positionals.length}: ${
        positionals.join(" ")
      }`,
    );
  }
  if (positionals.length === 0 && !help) {
    throw new CliError(`missing the spec file\n\n${USAGE}`);
  }
  const out: RunArgs = {
    spec: positionals[0] ?? "",
    variants: values.variant ?? [],
    out: values.out ?? "runs",
    jobs: values.jobs === undefined
      ? Math.max(1, cores)
      : parseInteger("--jobs", values.jobs, 1),
    dryRun: values["dry-run"] ?? false,
    noRedo: values["no-redo"] ?? false,
    allowMixedKernels: values["allow-mixed-kernels"] ?? false,
    verbose: values.verbose ?? false,
    help,
    sets: (values.set ?? []).map(parseSet),
  };
  if (values.out !== undefined && values.out.trim() === "") {
    throw new CliError("--out: expected a folder, got an empty string");
  }
  if (values.preset !== undefined) {
    if (values.preset === "") {
      throw new CliError("--preset: expected a preset name");
    }
    out.preset = values.preset;
  }
  if (values.seed !== undefined) {
    out.seeds = values.seed.flatMap((s) => s.split(",")).map((s) => {
      const n = parseInteger("--seed", s, 0);
      if (n > 0xffffffff) {
        throw new CliError(`--seed: expected a seed < 2^32, got ${s}`);
      }
      return n;
    });
  }
  if (values.data !== undefined) {
    const eq = values.data.indexOf("=");
    if (eq <= 0 || eq === values.data.length - 1) {
      throw new CliError(
        `--data: expected NAME=ROOT, got ${JSON.stringify(values.data)}`,
      );
    }
    out.data = {
      name: values.data.slice(0, eq),
      root: values.data.slice(eq + 1),
    };
  }
  if (values.backend !== undefined) {
    if (!(BACKEND_NAMES as readonly string[]).includes(values.backend)) {
      throw new CliError(
        `--backend: expected one of ${BACKEND_NAMES.join(", ")}, got ${
          JSON.stringify(values.backend)
        }`,
      );
    }
    out.backend = values.backend as BackendName;
  }
  if (values.shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(values.shard.trim());
    if (!m) {
      throw new CliError(
        `--shard: expected I/N (e.g. 1/4), got ${JSON.stringify(values.shard)}`,
      );
    }
    const index = Number(m[1]), count = Number(m[2]);
    if (count < 1 || index < 1 || index > count) {
      throw new CliError(`--shard: expected 1 ≤ I ≤ N, got ${values.shard}`);
    }
    out.shard = { index, count };
  }
  return out;
}

/**
 * Applies overrides to a raw spec and validates the result (see the module
 * doc for the order). Errors name `file` and the path; preset errors are
 * prefixed `presets.NAME.`, and errors caused by command-line overrides say
 * so.
 */
export function resolveExperiment(
  raw: RawSpec,
  overrides: SpecOverrides = {},
  file?: string,
): Experiment {
  const base = validateExperiment(raw, file);
  let spec: RawSpec = raw;
  if (overrides.preset !== undefined) {
    const preset = base.presets[overrides.preset];
    if (!preset) {
      const known = Object.keys(base.presets);
      throw new CliError(
        `--preset: ${JSON.stringify(overrides.preset)} is not a preset of ${
          file ?? "the spec"
        } (known: ${known.length ? known.join(", ") : "none"})`,
      );
    }
    const rawPreset =
      (raw.presets as Record<string, unknown>)[overrides.preset];
    spec = deepMerge(spec, rawPreset);
    try {
      validateExperiment(spec, file);
    } catch (e) {
      if (e instanceof SpecError) {
        throw e.withPrefix(`presets.${overrides.preset}`);
      }
      throw e;
    }
  }
  const cli: string[] = [];
  // each command-line stage, to find the one that made the spec invalid
  const stages: { label: string; spec: RawSpec }[] = [];
  for (const set of overrides.sets ?? []) {
    try {
      spec = setPath(spec, set.path, set.value);
    } catch (e) {
      throw new CliError(`--set ${set.path}: ${(e as Error).message}`);
    }
    cli.push(`--set ${set.path}`);
    stages.push({
      label: `--set ${set.path}=${set.text ?? JSON.stringify(set.value)}`,
      spec,
    });
  }
  if (overrides.seeds) {
    spec = { ...spec, seeds: overrides.seeds };
    cli.push("--seed");
    stages.push({ label: `--seed ${overrides.seeds.join(",")}`, spec });
  }
  if (overrides.data) {
    spec = deepMerge(spec, {
      dataset: { name: overrides.data.name, root: overrides.data.root },
    });
    cli.push("--data");
    stages.push({
      label: `--data ${overrides.data.name}=${overrides.data.root}`,
      spec,
    });
  }
  if (overrides.backend) {
    spec = { ...spec, backend: overrides.backend };
    cli.push("--backend");
    stages.push({ label: `--backend ${overrides.backend}`, spec });
  }
  if (cli.length === 0) {
    return overrides.preset === undefined
      ? base
      : validateExperiment(spec, file);
  }
  const where = `${file ?? "<spec>"} (with ${cli.join(", ")})`;
  try {
    return validateExperiment(spec, where);
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    // the first stage after which the spec is invalid is the culprit
    const culprit = stages.find((stage) => {
      try {
        validateExperiment(stage.spec, where);
        return false;
      } catch {
        return true;
      }
    });
    if (!culprit) throw e;
    throw new SpecError(
      e.issues.map((i) => ({
        path: i.path,
        message: `${i.message} (the value came from ${culprit.label})`,
      })),
      where,
    );
  }
}

/**
 * Marks the issues of a {@link SpecError} found after the overrides were
 * applied (e.g. by the model library while resolving the variants) whose
 * path is, contains or lies inside a `--set` path with
 * `(the value came from --set PATH=VALUE)` (the last such `--set`). Returns
 * `error` itself when no issue matches.
 */
export function attributeSets(
  error: SpecError,
  sets: readonly SetOverride[] = [],
): SpecError {
  let changed = false;
  const issues = error.issues.map((issue) => {
    const set = [...sets].reverse().find((s) =>
      issue.path === s.path || issue.path.startsWith(`${s.path}.`) ||
      s.path.startsWith(`${issue.path}.`)
    );
    if (!set || issue.message.includes("(the value came from ")) return issue;
    changed = true;
    return {
      path: issue.path,
      message: `${issue.message} (the value came from --set ${set.path}=${
        set.text ?? JSON.stringify(set.value)
      })`,
    };
  });
  return changed ? new SpecError(issues, error.file) : error;
}

/**
 * Where each `dataset.options` key of the resolved spec came from, in the
 * order {@link resolveExperiment} applies them: `the spec` (with its
 * `extends` chain), `--preset NAME`, or `--set PATH=VALUE` (a `null` drops
 * what came before). Used to say who set an option a dataset rejects.
 */
export function optionOrigins(
  raw: RawSpec,
  overrides: SpecOverrides = {},
): Map<string, string> {
  const origins = new Map<string, string>();
  const apply = (options: unknown, origin: string) => {
    if (options === null) origins.clear();
    if (options === null || typeof options !== "object") return;
    for (const key of Object.keys(options)) origins.set(key, origin);
  };
  const optionsOf = (spec: unknown) =>
    ((spec as { dataset?: { options?: unknown } } | undefined)?.dataset)
      ?.options;
  apply(optionsOf(raw), "the spec");
  if (overrides.preset !== undefined) {
    const presets = raw.presets as Record<string, unknown> | undefined;
    apply(
      optionsOf(presets?.[overrides.preset]),
      `--preset ${overrides.preset}`,
    );
  }
  for (const set of overrides.sets ?? []) {
    const label = `--set ${set.path}=${set.text ?? JSON.stringify(set.value)}`;
    if (set.path === "dataset.options") apply(set.value, label);
    else if (set.path === "dataset") {
      apply(optionsOf({ dataset: set.value }), label);
    } else if (set.path.startsWith("dataset.options.")) {
      origins.set(set.path.split(".")[2], label);
    }
  }
  return origins;
}
