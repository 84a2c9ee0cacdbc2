/**
 * The planner (pure): a resolved spec → variants with complete model
 * configs and training recipes → jobs, one per variant × root seed × fold,
 * each with its fully resolved description, derived seeds and a stable hash
 * (SHA-256 of its canonical JSON), which names its run folder
 * `runs/<experiment>/<hash16>/`.
 *
 * The folds come from the protocol (`dsl/protocols.ts`). Plan order:
 * variants (as declared, grid variants after their base), then seeds (as
 * listed), then folds.
 *
 * @module
 */
import * as v from "valibot";
import { modelSize } from "../model/sizes.ts";
import type { ModelConfig } from "../model/types.ts";
import { datasetInfo, listDatasets } from "../data/registry.ts";
import { EMOTIONS_7 } from "../data/types.ts";
import type { JobSeeds, TrainRecipe } from "../train/types.ts";
import { SpecError, type SpecIssue } from "./errors.ts";
import { hashValue } from "./hash.ts";
import { deepMerge, setPath } from "./merge.ts";
import {
  type Experiment,
  type Protocol,
  TrainRecipeSchema,
  type Validation,
  VariantSchema,
} from "./schema.ts";
import { jobSeeds } from "./seeds.ts";
import { toSpecIssues } from "./spec.ts";

/**
 * What the planner needs from the model library (`model/mod.ts`). A spec's
 * `base` names a size of the model registry (`model/sizes.ts`): the
 * family's reference configuration from here, with the size's fields
 * merged in.
 */
export interface ModelLibrary {
  /** the MERba reference configuration (`merba-b`). */
  merbaBase(overrides?: Partial<ModelConfig>): ModelConfig;
  /** the MambaVision-B reference configuration (`mambavision-b`). */
  mambaVisionB(overrides?: Partial<ModelConfig>): ModelConfig;
  /** throws an error naming the field and value when a config is invalid. */
  validateModelConfig(config: ModelConfig): void;
  /** trainable parameter count of a config (for `--dry-run`). */
  countParams?(config: ModelConfig): number;
}

/** A variant with everything resolved. */
export interface ResolvedVariant {
  /** variant name (`default` when the spec declares none). */
  name: string;
  /** its description, if any. */
  description: string;
  /** the complete, validated model configuration. */
  modelConfig: ModelConfig;
  /** the complete training recipe. */
  recipe: TrainRecipe;
}

/** One fold of the protocol. */
export interface Fold {
  /** `split` (fixed split), the subject id (LOSO), `fold1`… (k-fold). */
  name: string;
  /** subjects tested in this fold (null: the fixed split's test splits). */
  testSubjects: string[] | null;
}

/** The data identity of a job (the corpus root and cache folder are not part of it). */
export interface JobDataset {
  /** dataset name. */
  name: string;
  /** flow resolution. */
  imageSize: number;
  /** flow channels. */
  channels: "uv" | "uvs";
  /** dataset options (`{}` when none). */
  options: Record<string, unknown>;
}

/** A job's resolved description: everything its results depend on. */
export interface JobSpec {
  /** the experiment's name. */
  experiment: string;
  /** the variant's name. */
  variant: string;
  /** the root seed. */
  seed: number;
  /** the fold (test subjects). */
  fold: Fold;
  /** the data identity. */
  dataset: JobDataset;
  /** the protocol. */
  protocol: Protocol;
  /** what early stopping monitors. */
  validation: Validation;
  /** the complete model configuration. */
  modelConfig: ModelConfig;
  /** the complete training recipe. */
  recipe: TrainRecipe;
  /** streams derived from (seed, fold name). */
  seeds: JobSeeds;
  /** the TF.js backend (numbers are bit-identical per backend). */
  backend: string;
}

/** A planned job: its description plus its hash. */
export interface Job extends JobSpec {
  /** SHA-256 (hex) of the canonical JSON of the {@link JobSpec}. */
  hash: string;
  /** the run folder name: the hash's first 16 hex digits. */
  id: string;
}

/** Default epochs per protocol (paper: 200 on DFME, 70 per LOSO fold). */
export function defaultEpochs(protocol: Protocol): number {
  return protocol.kind === "fixedSplit" ? 200 : 70;
}

/**
 * Class count of a dataset the data registry knows (`data/registry.ts`);
 * undefined for other names (then it comes from the loaded dataset).
 */
export function knownClassCount(dataset: string): number | undefined {
  if (!listDatasets().some((d) => d.name === dataset)) return undefined;
  return datasetInfo(dataset).classes.length;
}

function fieldOf(err: unknown): string | undefined {
  if (err && typeof err === "object") {
    for (const key of ["field", "path"]) {
      const f = (err as Record<string, unknown>)[key];
      if (typeof f === "string" && f !== "") return f;
    }
  }
  return undefined;
}

/**
 * Expands `grid` into generated variants (see `GridSchema`): raw variant
 * overrides keyed by name, in plan order.
 */
export function expandVariants(
  spec: Pick<Experiment, "variants" | "grid">,
  file?: string,
): Map<string, Record<string, unknown>> {
  const declared = new Map<string, Record<string, unknown>>(
    Object.entries(spec.variants).map((
      [k, val],
    ) => [k, val as Record<string, unknown>]),
  );
  if (!spec.grid || Object.keys(spec.grid).length === 0) {
    if (declared.size === 0) declared.set("default", {});
    return declared;
  }
  const axes = Object.entries(spec.grid);
  let combos: [string, unknown][][] = [[]];
  for (const [path, values] of axes) {
    combos = combos.flatMap((c) =>
      values.map((val) => [...c, [path, val] as [string, unknown]])
    );
  }
  const bases = declared.size
    ? [...declared]
    : [["", {}] as [string, Record<string, unknown>]];
  const out = new Map<string, Record<string, unknown>>();
  for (const [baseName, base] of bases) {
    for (const combo of combos) {
      const label = combo.map(([p, val]) =>
        `${p.replace(/^(model|train)\./, "")}=${
          typeof val === "string" ? val : JSON.stringify(val)
        }`
      ).join(",");
      let variant: Record<string, unknown> = base;
      for (const [p, val] of combo) variant = setPath(variant, p, val);
      const r = v.safeParse(VariantSchema, variant);
      if (!r.success) {
        throw new SpecError(
          toSpecIssues(r.issues).map((i) => ({
            path: `grid.${
              combo.map(([p]) => p).find((p) => i.path.startsWith(p)) ?? i.path
            }`,
            message: i.message,
          })),
          file,
        );
      }
      out.set(baseName ? `${baseName}[${label}]` : label, variant);
    }
  }
  return out;
}

/** Most trainable parameters a model may have (4 GB of float32 weights). */
export const MAX_PARAMS = 1e9;
/** Most values one sample's largest activation may hold (4 GiB of float32). */
export const MAX_ACTIVATION = 2 ** 30;

/**
 * A lower bound of a config's trainable parameters, cheap for any size:
 * every block holds at least one dims² matrix, every downsample a
 * dims[i-1]·dims[i] one, the head dims[last] weights.
 */
function paramsLowerBound(c: ModelConfig): number {
  let n = c.dims[c.dims.length - 1] ?? 0;
  c.dims.forEach((d, i) => {
    n += ((c.depths[i] ?? 0) + (c.attentionDepths[i] ?? 0)) * d * d;
    if (i > 0) n += c.dims[i - 1] * d;
  });
  return n;
}

/**
 * An estimate of the values held by one sample's largest activation: the
 * stem's output, each stage's MLP hidden map, and the attention matrices
 * (heads × tokens², tokens = the stage's map, or a window when attention
 * is local).
 */
function largestActivation(c: ModelConfig): number {
  const half = (n: number) => Math.ceil(n / 2);
  let [h, w] = typeof c.inputSize === "number"
    ? [c.inputSize, c.inputSize]
    : c.inputSize;
  h = half(h);
  w = half(w);
  let most = c.stemDim * h * w;
  h = half(h);
  w = half(w);
  c.dims.forEach((d, i) => {
    if (i > 0) {
      h = half(h);
      w = half(w);
    }
    most = Math.max(most, Math.max(1, c.mlpRatio) * d * h * w);
    const win = typeof c.windowSize === "number"
      ? c.windowSize
      : c.windowSize[i];
    const tokens = c.attention === "local" ? win * win : h * w;
    if (i >= c.convStages) {
      most = Math.max(most, (c.heads[i] ?? 1) * tokens * tokens);
    }
  });
  return most;
}

/**
 * The size problem of a model config, if any: more than {@link MAX_PARAMS}
 * parameters (a lower bound first, then the library's exact count), or an
 * activation of more than {@link MAX_ACTIVATION} values per sample.
 */
function sizeProblem(
  config: ModelConfig,
  lib: ModelLibrary,
): { field: string; message: string } | null {
  const sci = (n: number) => n.toExponential(1);
  const bound = paramsLowerBound(config);
  const params = bound > MAX_PARAMS
    ? bound
    : lib.countParams
    ? lib.countParams(config)
    : bound;
  if (params > MAX_PARAMS) {
    const deep = config.dims.some((d, i) =>
      (config.depths[i] ?? 0) + (config.attentionDepths[i] ?? 0) > d
    );
    return {
      field: deep ? "depths" : "dims",
      message: `the model would have about ${sci(params)} parameters (limit ${
        sci(MAX_PARAMS).replace(".0", "")
      })`,
    };
  }
  const act = largestActivation(config);
  if (act > MAX_ACTIVATION) {
    return {
      field: "inputSize",
      message: `one sample's largest activation would hold about ${
        sci(act)
      } values (limit 2^30)`,
    };
  }
  return null;
}

/**
 * Resolves every variant (or only `only`, by name): merges spec and variant
 * overrides over the model base and the recipe defaults, fills
 * `inputSize`/`inChannels`/`numClasses` from the dataset, and validates
 * each model config with the model library. Also checks what can be known
 * before training: a DGCM head needs the 7 emotion classes (`classes`, or
 * the class count), and model sizes are bounded ({@link MAX_PARAMS},
 * {@link MAX_ACTIVATION}). Errors name the variant's path, e.g.
 * `variants.hv.model.windowSize: …`.
 */
export function resolveVariants(
  spec: Experiment,
  lib: ModelLibrary,
  options: {
    numClasses?: number;
    classes?: readonly string[];
    only?: string[];
    file?: string;
  } = {},
): ResolvedVariant[] {
  const all = expandVariants(spec, options.file);
  const only = options.only ?? [];
  for (const name of only) {
    if (!all.has(name)) {
      throw new SpecError([{
        path: "variants",
        message: `no variant ${JSON.stringify(name)} (known: ${
          [...all.keys()].join(", ")
        })`,
      }], options.file);
    }
  }
  const reference = spec.report?.reference;
  if (reference !== undefined && !all.has(reference)) {
    throw new SpecError([{
      path: "report.reference",
      message: `no variant ${
        JSON.stringify(reference)
      } to compare with (variants: ${[...all.keys()].join(", ")})`,
    }], options.file);
  }
  const classes = options.classes;
  const numClasses = options.numClasses ?? classes?.length ??
    knownClassCount(spec.dataset.name);
  const issues: SpecIssue[] = [];
  const out: ResolvedVariant[] = [];
  for (const [name, variant] of all) {
    if (only.length && !only.includes(name)) continue;
    const vPath = spec.variants[name]
      ? `variants.${name}`
      : spec.grid
      ? `grid`
      : "model";
    const vModel = (variant.model ?? {}) as Record<string, unknown>;
    const { base: specBase, ...specModel } = spec.model as Record<
      string,
      unknown
    >;
    const { base: varBase, ...varModel } = vModel;
    const base = (varBase ?? specBase ?? "merba") as string;
    const derived: Record<string, unknown> = {
      inputSize: spec.dataset.imageSize,
      inChannels: spec.dataset.channels === "uvs" ? 3 : 2,
    };
    const overrides = deepMerge(specModel, varModel);
    if (numClasses !== undefined) {
      if (
        overrides.numClasses !== undefined &&
        overrides.numClasses !== numClasses
      ) {
        const where = varModel.numClasses !== undefined
          ? `${vPath}.model`
          : "model";
        issues.push({
          path: `${where}.numClasses`,
          message:
            `dataset ${spec.dataset.name} has ${numClasses} classes, got ${overrides.numClasses}`,
        });
        continue;
      }
      derived.numClasses = numClasses;
    }
    const named = modelSize(base);
    const baseConfig = deepMerge(
      named.family === "mambavision" ? lib.mambaVisionB() : lib.merbaBase(),
      named.overrides,
    );
    const modelConfig = deepMerge(
      deepMerge(baseConfig, derived),
      overrides,
    ) as ModelConfig;
    try {
      lib.validateModelConfig(modelConfig);
    } catch (e) {
      const field = fieldOf(e);
      const top = field?.split(/[.[]/)[0];
      let message = (e as Error).message;
      if (field && message.startsWith(`${field}: `)) {
        message = message.slice(field.length + 2);
      }
      const where = top !== undefined && top in varModel
        ? `${vPath}.model`
        : top !== undefined && top in specModel
        ? "model"
        : name === "default"
        ? "model"
        : `${vPath}.model`;
      issues.push({
        path: field ? `${where}.${field}` : where,
        message,
      });
      continue;
    }
    const modelPath = (field: string) =>
      field in varModel
        ? `${vPath}.model.${field}`
        : field === "inputSize" && !("inputSize" in specModel)
        ? "dataset.imageSize"
        : `model.${field}`;
    const dgcmNeeds = `the DGCM head needs the 7 emotion classes [${
      EMOTIONS_7.join(", ")
    }]`;
    if (
      modelConfig.head === "dgcm" &&
      (classes
        ? classes.join() !== EMOTIONS_7.join()
        : numClasses !== undefined && numClasses !== EMOTIONS_7.length)
    ) {
      issues.push({
        path: modelPath("head"),
        message: `${dgcmNeeds}; dataset ${spec.dataset.name} has ${
          classes ? `[${classes.join(", ")}]` : `${numClasses} classes`
        }`,
      });
      continue;
    }
    const size = sizeProblem(modelConfig, lib);
    if (size) {
      issues.push({ path: modelPath(size.field), message: size.message });
      continue;
    }
    const trainRaw = deepMerge(spec.train, variant.train ?? {});
    const r = v.safeParse(TrainRecipeSchema, trainRaw);
    if (!r.success) {
      for (const i of toSpecIssues(r.issues)) {
        issues.push({ path: `${vPath}.train.${i.path}`, message: i.message });
      }
      continue;
    }
    const recipe: TrainRecipe = {
      ...r.output,
      epochs: r.output.epochs ?? defaultEpochs(spec.protocol),
    };
    if (recipe.earlyStopping && spec.validation.kind === "none") {
      issues.push({
        path: (variant.train as Record<string, unknown> | undefined)
            ?.earlyStopping !==
            undefined
          ? `${vPath}.train.earlyStopping`
          : "train.earlyStopping",
        message:
          "early stopping needs validation data: set `validation` or `train.earlyStopping: null`",
      });
      continue;
    }
    out.push({
      name,
      description: (variant.description as string | undefined) ?? "",
      modelConfig,
      recipe,
    });
  }
  if (issues.length) {
    // a spec-level model error shows up once per variant: report it once
    const seen = new Set<string>();
    const unique = issues.filter((i) => {
      const key = `${i.path}\u0000${i.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    throw new SpecError(unique, options.file);
  }
  return out;
}

/** Plans the jobs: variants × seeds × folds, in plan order, with hashes. */
export function planJobs(
  spec: Experiment,
  variants: ResolvedVariant[],
  folds: Fold[],
): Job[] {
  const dataset: JobDataset = {
    name: spec.dataset.name,
    imageSize: spec.dataset.imageSize,
    channels: spec.dataset.channels,
    options: spec.dataset.options ?? {},
  };
  const jobs: Job[] = [];
  for (const variant of variants) {
    for (const seed of spec.seeds) {
      for (const fold of folds) {
        const js: JobSpec = {
          experiment: spec.name,
          variant: variant.name,
          seed,
          fold,
          dataset,
          protocol: spec.protocol,
          validation: spec.validation,
          modelConfig: variant.modelConfig,
          recipe: variant.recipe,
          seeds: jobSeeds(seed, fold.name),
          backend: spec.backend,
        };
        const hash = hashValue(js);
        jobs.push({ ...js, hash, id: hash.slice(0, 16) });
      }
    }
  }
  return jobs;
}

/** The jobs of shard `index` (1-based) of `count`: every count-th job of the plan. */
export function shardJobs<T>(
  jobs: readonly T[],
  index: number,
  count: number,
): T[] {
  if (
    !Number.isInteger(count) || count < 1 || !Number.isInteger(index) ||
    index < 1 || index > count
  ) {
    throw new RangeError(`shard ${index}/${count}: expected 1 ≤ index ≤ count`);
  }
  return jobs.filter((_, i) => i % count === index - 1);
}
