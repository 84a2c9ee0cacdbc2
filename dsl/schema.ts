/**
 * The experiment spec language. These valibot schemas are the single source
 * of truth: the TypeScript types of specs are inferred from them
 * ({@link ExperimentInput} is what you write, {@link Experiment} what
 * validation returns, defaults filled in).
 *
 * A spec names a dataset, a protocol (LOSO, fixed split or subject k-fold),
 * how early stopping is validated, a base model plus overrides, named
 * variants (and optionally a grid of generated variants), the training
 * recipe (defaults = the paper's recipe), root seeds, presets, and what the
 * report shows. Unknown keys are errors everywhere.
 *
 * Merge rules (variants over the spec, presets over the spec, `extends`):
 * objects are merged key by key, recursively; **a list always replaces the
 * list it overrides as a whole** (it is never merged element-wise, so
 * `scans: ["h"]` in a variant means exactly one scan), and so do `null` and
 * every scalar (`earlyStopping: null` switches early stopping off). A key
 * that is absent (or `undefined`) leaves the value below it untouched.
 *
 * @module
 */
import * as v from "valibot";

/** Every scan order name (the four base orders, reversed `-r`, mirrored `-m`, both `-rm`). */
export const SCAN_NAMES = [
  "h",
  "v",
  "hz",
  "vz",
  "h-r",
  "v-r",
  "hz-r",
  "vz-r",
  "h-m",
  "v-m",
  "hz-m",
  "vz-m",
  "h-rm",
  "v-rm",
  "hz-rm",
  "vz-rm",
] as const;

/** The metrics a report can show. */
export const METRIC_NAMES = ["uf1", "uar", "acc"] as const;

/** The backends a job can run on. */
export const BACKEND_NAMES = ["wasm", "cpu", "webgpu", "tensorflow"] as const;

/** The model bases a spec can start from. */
export const MODEL_BASES = ["merba", "mambavision-b"] as const;

const posInt = v.pipe(
  v.number(),
  v.integer("expected an integer"),
  v.minValue(1, "expected an integer ≥ 1"),
);
const nonNegInt = v.pipe(
  v.number(),
  v.integer("expected an integer"),
  v.minValue(0, "expected an integer ≥ 0"),
);
const nonNeg = v.pipe(v.number(), v.minValue(0, "expected a number ≥ 0"));
const positive = v.pipe(
  v.number(),
  v.gtValue(0, "expected a number > 0"),
);
const probability = v.pipe(
  v.number(),
  v.minValue(0, "expected a probability in [0, 1]"),
  v.maxValue(1, "expected a probability in [0, 1]"),
);

/** A scan order name (completes in editors). */
export const ScanNameSchema = v.picklist(SCAN_NAMES);
/** A metric name. */
export const MetricNameSchema = v.picklist(METRIC_NAMES);
/** A backend name. */
export const BackendNameSchema = v.picklist(BACKEND_NAMES);

/** A root seed: an unsigned 32-bit integer. */
export const SeedSchema = v.pipe(
  v.number(),
  v.integer("expected an integer seed"),
  v.minValue(0, "expected a seed in [0, 2^32)"),
  v.maxValue(0xffffffff, "expected a seed in [0, 2^32)"),
);

/** Overrides of the selective-scan mixer settings. */
export const MixerOverridesSchema = v.strictObject({
  dState: v.optional(posInt),
  dConv: v.optional(posInt),
  expand: v.optional(posInt),
  dtBiasTwice: v.optional(v.boolean()),
  dtInit: v.optional(v.picklist(["reference", "mamba"])),
});

/**
 * A model: a base (`merba` = `merbaBase()`, `mambavision-b` =
 * `mambaVisionB()` of the model library) plus partial `ModelConfig`
 * overrides. `inputSize` and `inChannels` default to the dataset's
 * `imageSize` and channels; `numClasses` to the dataset's class count.
 */
export const ModelSpecSchema = v.strictObject({
  base: v.optional(v.picklist(MODEL_BASES)),
  inputSize: v.optional(v.union([posInt, v.tuple([posInt, posInt])])),
  inChannels: v.optional(posInt),
  stemDim: v.optional(posInt),
  dims: v.optional(v.array(posInt)),
  depths: v.optional(v.array(nonNegInt)),
  attentionDepths: v.optional(v.array(nonNegInt)),
  heads: v.optional(v.array(posInt)),
  windowSize: v.optional(v.union([posInt, v.array(posInt)])),
  convStages: v.optional(nonNegInt),
  mlpRatio: v.optional(positive),
  scans: v.optional(
    v.pipe(
      v.array(ScanNameSchema),
      v.minLength(1, "expected at least one scan order"),
    ),
  ),
  extractor: v.optional(v.picklist(["local", "global"])),
  attention: v.optional(v.picklist(["local", "global"])),
  head: v.optional(v.picklist(["linear", "dgcm"])),
  numClasses: v.optional(posInt),
  dropout: v.optional(probability),
  dropPath: v.optional(probability),
  layerScale: v.optional(v.nullable(positive)),
  mixer: v.optional(MixerOverridesSchema),
});

/**
 * The training recipe. Every field is optional; the defaults are the
 * paper's recipe (Sec. IV-A): AdamW (betas 0.9/0.999, eps 1e-8, weight
 * decay 0.05), 5 warmup epochs then cosine decay with a 10-epoch cooldown,
 * cross-entropy, early stopping, random horizontal flip (p 0.5), batch 128.
 *
 * The paper's learning rate did not survive in its text: the default
 * `lr: 1e-4` is ours (a common AdamW rate for MambaVision fine-tuning at
 * batch 128). `epochs` defaults by protocol: 200 for a fixed split (DFME),
 * 70 per fold for LOSO and k-fold.
 */
export const TrainRecipeSchema = trainRecipeSchema(true);

/**
 * The same fields as {@link TrainRecipeSchema}, without defaults: how the
 * spec's `train` and a variant's `train` are written. They are merged
 * (spec, then variant) and only then completed with the defaults, so a
 * variant overrides exactly what it names.
 */
export const TrainOverridesSchema = trainRecipeSchema(false);

function trainRecipeSchema<const D extends boolean>(defaults: D) {
  // deno-lint-ignore no-explicit-any
  const opt = <S extends v.GenericSchema>(s: S, d: any) =>
    (defaults ? v.optional(s, d) : v.optional(s)) as D extends true
      ? v.OptionalSchema<S, v.InferOutput<S>>
      : v.OptionalSchema<S, undefined>;
  return v.strictObject({
    epochs: v.optional(posInt),
    batchSize: opt(posInt, 128),
    evalBatchSize: opt(posInt, 128),
    optimizer: opt(
      v.strictObject({
        lr: opt(positive, 1e-4),
        betas: opt(v.tuple([probability, probability]), [0.9, 0.999]),
        eps: opt(positive, 1e-8),
        weightDecay: opt(nonNeg, 0.05),
      }),
      {},
    ),
    schedule: opt(
      v.strictObject({
        warmupEpochs: opt(nonNegInt, 5),
        cooldownEpochs: opt(nonNegInt, 10),
        warmupStartLr: opt(nonNeg, 1e-6),
        minLr: opt(nonNeg, 1e-6),
      }),
      {},
    ),
    earlyStopping: opt(
      v.nullable(
        v.strictObject({
          monitor: opt(v.picklist([...METRIC_NAMES, "loss"] as const), "uf1"),
          patience: opt(posInt, 20),
          minDelta: opt(nonNeg, 0),
          restoreBest: opt(v.boolean(), true),
        }),
      ),
      {},
    ),
    augment: opt(v.strictObject({ hflip: opt(probability, 0.5) }), {}),
    alpha: opt(
      v.strictObject({
        kind: opt(
          v.picklist(["constant", "linear", "cosine", "step"]),
          "linear",
        ),
        start: opt(nonNeg, 0),
        end: opt(nonNeg, 1),
        rampEpochs: v.optional(posInt),
      }),
      {},
    ),
  });
}

/**
 * The dataset: a `DatasetRequest` of `data/types.ts` (`synthetic-dfme`,
 * `synthetic-3db`, `dfme`, `casme2`, `samm`, `smic`, `megc2019`).
 */
export const DatasetSchema = v.strictObject({
  name: v.pipe(v.string(), v.minLength(1, "expected a dataset name")),
  root: v.optional(v.string()),
  imageSize: posInt,
  channels: v.optional(v.picklist(["uv", "uvs"]), "uv"),
  cacheDir: v.optional(v.string()),
  options: v.optional(v.record(v.string(), v.unknown())),
});

/**
 * Leave-one-subject-out: one fold per subject (a fresh model per fold).
 * Metrics are computed once over all folds' predictions concatenated, plus
 * one breakdown per value of `breakdownBy` (the source corpus), `null`: none.
 */
export const LosoProtocolSchema = v.strictObject({
  kind: v.literal("loso"),
  groupBy: v.optional(v.literal("subject"), "subject"),
  breakdownBy: v.optional(v.nullable(v.literal("source")), "source"),
});

/** A fixed split: train on one split, test on each of `tests`. */
export const FixedSplitProtocolSchema = v.strictObject({
  kind: v.literal("fixedSplit"),
  train: v.optional(v.string(), "train"),
  tests: v.optional(
    v.pipe(
      v.array(v.string()),
      v.minLength(1, "expected at least one test split"),
    ),
    ["testA", "testB"],
  ),
});

/** Subject-independent k-fold: subjects are dealt to `k` folds. */
export const KFoldProtocolSchema = v.strictObject({
  kind: v.literal("kfold"),
  k: v.pipe(
    v.number(),
    v.integer("expected an integer"),
    v.minValue(2, "expected k ≥ 2"),
  ),
  groupBy: v.optional(v.literal("subject"), "subject"),
  breakdownBy: v.optional(v.nullable(v.literal("source")), "source"),
});

/** The evaluation protocol. */
export const ProtocolSchema = v.variant("kind", [
  LosoProtocolSchema,
  FixedSplitProtocolSchema,
  KFoldProtocolSchema,
]);

/**
 * What early stopping monitors.
 * - `subjects`: a subject-disjoint `fraction` of the training subjects is
 *   held out (seeded per root seed and fold) — the leak-free choice, default.
 * - `test`: monitor the test fold itself (`split`: which test split; default
 *   the first). Common in MER papers, but it leaks test labels into model
 *   selection and inflates the numbers: use it only to reproduce such work.
 * - `none`: no validation data (`train.earlyStopping` must then be `null`).
 */
export const ValidationSchema = v.variant("kind", [
  v.strictObject({
    kind: v.literal("subjects"),
    fraction: v.optional(
      v.pipe(
        v.number(),
        v.gtValue(0, "expected a fraction in (0, 1)"),
        v.ltValue(1, "expected a fraction in (0, 1)"),
      ),
      0.1,
    ),
  }),
  v.strictObject({ kind: v.literal("test"), split: v.optional(v.string()) }),
  v.strictObject({ kind: v.literal("none") }),
]);

/** A named variant: overrides of the model and/or the training recipe. */
export const VariantSchema = v.strictObject({
  description: v.optional(v.string()),
  model: v.optional(ModelSpecSchema),
  train: v.optional(TrainOverridesSchema),
});

/** Published numbers of one row (percent or fraction, as the paper prints them). */
export const PaperNumbersSchema = v.strictObject({
  uf1: v.optional(v.number()),
  uar: v.optional(v.number()),
  acc: v.optional(v.number()),
});

/** What the report shows. */
export const ReportSpecSchema = v.strictObject({
  metrics: v.optional(
    v.pipe(
      v.array(MetricNameSchema),
      v.minLength(1, "expected at least one metric"),
    ),
    ["uf1", "uar"],
  ),
  /** groups (test splits / `overall` / sources) to show; default: all. */
  groups: v.optional(v.array(v.string())),
  /** the paper's numbers: variant → group → metrics. */
  paper: v.optional(
    v.record(v.string(), v.record(v.string(), PaperNumbersSchema)),
    {},
  ),
  /** other methods' published numbers (numbers only). */
  references: v.optional(
    v.array(
      v.strictObject({
        method: v.pipe(v.string(), v.minLength(1, "expected a method name")),
        group: v.string(),
        values: PaperNumbersSchema,
      }),
    ),
    [],
  ),
});

/**
 * A grid: field paths (starting with `model.` or `train.`) → lists of
 * values. Every combination of values is applied to every declared
 * variant (or to the spec's model when there are none), generating
 * variants named `<variant>[<field>=<value>,…]` (`<field>` is the path
 * without its `model.`/`train.` prefix; without declared variants the
 * name is just `<field>=<value>,…`).
 */
export const GridSchema = v.record(
  v.pipe(
    v.string(),
    v.regex(
      /^(model|train)\.[A-Za-z0-9_.]+$/,
      "expected a field path starting with model. or train.",
    ),
  ),
  v.pipe(
    v.array(v.unknown()),
    v.minLength(1, "expected at least one value"),
  ),
);

const experimentEntries = {
  /** a `.yaml`/`.ts` spec this one extends (resolved relative to the file). */
  extends: v.optional(v.string()),
  name: v.pipe(
    v.string(),
    v.regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
      "expected a name of letters, digits, _ . - (it names the run folder)",
    ),
  ),
  description: v.optional(v.string(), ""),
  dataset: DatasetSchema,
  protocol: ProtocolSchema,
  validation: v.optional(ValidationSchema, { kind: "subjects", fraction: 0.1 }),
  model: v.optional(ModelSpecSchema, {}),
  variants: v.optional(v.record(v.string(), VariantSchema), {}),
  grid: v.optional(GridSchema),
  train: v.optional(TrainOverridesSchema, {}),
  seeds: v.optional(
    v.pipe(v.array(SeedSchema), v.minLength(1, "expected at least one seed")),
    [0],
  ),
  backend: v.optional(BackendNameSchema, "wasm"),
  report: v.optional(ReportSpecSchema, {}),
};

/** A spec without presets: what a preset may override (every part optional). */
export const PresetSchema = v.strictObject({
  description: v.optional(v.string()),
  dataset: v.optional(v.partial(DatasetSchema)),
  protocol: v.optional(ProtocolSchema),
  validation: v.optional(ValidationSchema),
  model: v.optional(ModelSpecSchema),
  variants: v.optional(v.record(v.string(), VariantSchema)),
  grid: v.optional(GridSchema),
  train: v.optional(TrainOverridesSchema),
  seeds: v.optional(
    v.pipe(v.array(SeedSchema), v.minLength(1, "expected at least one seed")),
  ),
  backend: v.optional(BackendNameSchema),
  report: v.optional(v.partial(ReportSpecSchema)),
});

/** An experiment spec. */
export const ExperimentSchema = v.strictObject({
  ...experimentEntries,
  /** named partial overrides of the whole spec (`--preset NAME`). */
  presets: v.optional(v.record(v.string(), PresetSchema), {}),
});

/** What a spec author writes (defaults may be left out). */
export type ExperimentInput = v.InferInput<typeof ExperimentSchema>;
/** A validated spec with every default filled in. */
export type Experiment = v.InferOutput<typeof ExperimentSchema>;
/** Model overrides as written. */
export type ModelSpecInput = v.InferInput<typeof ModelSpecSchema>;
/** Validated model overrides. */
export type ModelSpec = v.InferOutput<typeof ModelSpecSchema>;
/** A training recipe as written (every field optional). */
export type TrainRecipeInput = v.InferInput<typeof TrainOverridesSchema>;
/** A complete training recipe (defaults filled in, `epochs` possibly unset). */
export type TrainRecipeOutput = v.InferOutput<typeof TrainRecipeSchema>;
/** A variant as written. */
export type VariantInput = v.InferInput<typeof VariantSchema>;
/** A preset as written. */
export type PresetInput = v.InferInput<typeof PresetSchema>;
/** A validated protocol. */
export type Protocol = v.InferOutput<typeof ProtocolSchema>;
/** A validated validation choice. */
export type Validation = v.InferOutput<typeof ValidationSchema>;
/** A validated dataset request. */
export type DatasetSpec = v.InferOutput<typeof DatasetSchema>;
/** A validated report section. */
export type ReportSpec = v.InferOutput<typeof ReportSpecSchema>;
