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
import { SCAN_NAMES } from "../model/scan_order.ts";
import { MODEL_NAMES } from "../model/sizes.ts";
import {
  DT_INITS,
  EXTENTS,
  HEAD_KINDS,
  type MixerConfig,
  type ModelConfig,
  type ScanName,
} from "../model/types.ts";
import { METRIC_NAMES, type MetricName } from "../train/types.ts";

/**
 * Every scan order name (the four base orders, reversed `-r`, mirrored
 * `-m`, both `-rm`): the model library's list.
 */
export { SCAN_NAMES } from "../model/scan_order.ts";
/** The metrics a report can show: the training library's list. */
export { METRIC_NAMES } from "../train/types.ts";

/** The backends a job can run on. */
export const BACKEND_NAMES = ["wasm", "cpu", "webgpu", "tensorflow"] as const;

/**
 * The model bases a spec can start from: the model registry's names
 * (`model/sizes.ts`: `merba-b`, `mambavision-b`, `merba-laptop`, …, and
 * the aliases `merba`, `mambavision`).
 */
export const MODEL_BASES: typeof MODEL_NAMES = MODEL_NAMES;

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
// Infinity (YAML `.inf`) would pass a bound check and fail much later (a
// job hash cannot hold it): refused here, where the spec writes it.
const finite = v.finite<number, (issue: v.FiniteIssue<number>) => string>(
  (issue) => `expected a finite number, got ${issue.received}`,
);
const finiteNumber = v.pipe(v.number(), finite);
const nonNeg = v.pipe(
  v.number(),
  finite,
  v.minValue(0, "expected a number ≥ 0"),
);
const positive = v.pipe(
  v.number(),
  finite,
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
  dtInit: v.optional(v.picklist(DT_INITS)),
});

/**
 * A model: a base — a named size of the model registry (`merba` =
 * `merba-b` = `merbaBase()`, `mambavision` = `mambavision-b` =
 * `mambaVisionB()`, `merba-laptop`, `merba-smoke`, …) — plus partial
 * `ModelConfig` overrides. `inputSize` and `inChannels` default to the
 * dataset's `imageSize` and channels (over the size's); `numClasses` to the
 * dataset's class count.
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
  extractor: v.optional(v.picklist(EXTENTS)),
  attention: v.optional(v.picklist(EXTENTS)),
  head: v.optional(v.picklist(HEAD_KINDS)),
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
    microBatchSize: v.optional(posInt),
    checkpoint: v.optional(v.boolean()),
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
  options: v.optional(
    v.nullable(
      v.pipe(
        v.record(v.string(), v.unknown()),
        v.rawCheck(({ dataset, addIssue }) => {
          if (dataset.typed) reportNonFinite(dataset.value, [], addIssue);
        }),
      ),
    ),
  ),
});

/**
 * Adds an issue (with its path) for every non-finite number inside a
 * free-form value (dataset options): job hashes and caches cannot hold
 * them.
 */
function reportNonFinite(
  value: unknown,
  path: v.IssuePathItem[],
  addIssue: (info: { message: string; path: [v.IssuePathItem] }) => void,
): void {
  if (typeof value === "number" && !Number.isFinite(value)) {
    addIssue({
      message: `expected a finite number, got ${value}`,
      path: path as [v.IssuePathItem],
    });
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      reportNonFinite(item, [...path, {
        type: "object",
        origin: "value",
        input: value as Record<string, unknown>,
        key,
        value: item,
      }], addIssue);
    }
  }
}

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
  uf1: v.optional(finiteNumber),
  uar: v.optional(finiteNumber),
  acc: v.optional(finiteNumber),
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
  /**
   * the variant every other row is compared with (paired bootstrap);
   * default: the last variant. Must name a variant (checked when the
   * variants are resolved).
   */
  reference: v.optional(
    v.pipe(v.string(), v.minLength(1, "expected a variant name")),
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

/** The launchers `deno task run` can hand the jobs to. */
export const LAUNCHER_KINDS = ["local", "slurm"] as const;

/**
 * Slurm settings of a study (`--slurm.*` flags override them; see
 * `dsl/launcher/options.ts`).
 */
export const SlurmSpecSchema = v.strictObject({
  /** `--partition`. */
  partition: v.optional(
    v.pipe(v.string(), v.minLength(1, "expected a partition name")),
  ),
  /** `--time`: a Slurm time limit per array task. */
  time: v.optional(
    v.pipe(
      v.string(),
      v.regex(
        /^(\d+-\d+(:\d+){0,2}|\d+(:\d+){0,2})$/,
        "expected a Slurm time limit like 30, 02:00:00 or 1-12:00:00",
      ),
    ),
  ),
  /** `--gres`, e.g. `gpu:1`. */
  gres: v.optional(
    v.pipe(v.string(), v.minLength(1, "expected a gres like gpu:1")),
  ),
  /** `--cpus-per-task` (also the task's parallel workers, at most its job count). */
  cpus: v.optional(posInt),
  /** `--mem`, e.g. `16G`. */
  mem: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+[KMGT]?$/, "expected a memory size like 16G or 4000M"),
    ),
  ),
  /** at most this many array tasks at once (`%K`). */
  arrayParallel: v.optional(posInt),
  /** jobs per array task (default 1). */
  jobsPerTask: v.optional(posInt),
  /** how many times one job is submitted at most, retries included (default 3). */
  maxAttempts: v.optional(posInt),
  /** further `sbatch` options, written as one `#SBATCH` line. */
  extra: v.optional(v.string()),
});

/** How a study runs: here (default) or as a Slurm array (`--launcher`). */
export const LauncherSpecSchema = v.strictObject({
  /** `local` (default) or `slurm`. */
  kind: v.optional(v.picklist(LAUNCHER_KINDS)),
  /** the Slurm settings. */
  slurm: v.optional(SlurmSpecSchema),
});

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
  launcher: v.optional(LauncherSpecSchema),
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
  launcher: v.optional(LauncherSpecSchema),
});

/** An experiment spec. */
export const ExperimentSchema = v.strictObject({
  ...experimentEntries,
  /** named partial overrides of the whole spec (`--preset NAME`). */
  presets: v.optional(v.record(v.string(), PresetSchema), {}),
});

// ---------------------------------------------------------------------------
// The types of specs. They are written out (with JSDoc, so editors show the
// field docs while completing) and checked at compile time to be exactly
// what valibot infers from the schemas above (`v.InferInput` /
// `v.InferOutput`): change a schema and these fail to compile until they
// agree again. The schemas stay the single source of truth.
// ---------------------------------------------------------------------------

export type { MetricName, ScanName };

/** Overrides of the selective-scan mixer. */
export interface MixerOverrides {
  /** SSM state size N. */
  dState?: number;
  /** depthwise conv1d kernel size. */
  dConv?: number;
  /** channel expansion. */
  expand?: number;
  /** add dt_proj's bias twice, as the reference does. */
  dtBiasTwice?: boolean;
  /** dt initialisation: the reference's or Mamba's. */
  dtInit?: MixerConfig["dtInit"];
}

/**
 * A model: a base plus partial `ModelConfig` overrides (see
 * `model/types.ts` for every field). `inputSize`, `inChannels` and
 * `numClasses` default to the dataset's.
 */
export interface ModelSpec {
  /**
   * a named size of the model registry (default `merba`, the paper's
   * MERba): `merba-b`, `mambavision-b`, `merba-small`, `merba-laptop`,
   * `merba-smoke`, their `mambavision-*` counterparts, or the aliases
   * `merba`, `mambavision`.
   */
  base?: typeof MODEL_BASES[number];
  /** input height and width. */
  inputSize?: number | [number, number];
  /** input channels. */
  inChannels?: number;
  /** hidden width of the patch embedding's first conv. */
  stemDim?: number;
  /** channel width of each stage. */
  dims?: number[];
  /** blocks per stage. */
  depths?: number[];
  /** MERba: global attention blocks per stage. */
  attentionDepths?: number[];
  /** attention heads per stage. */
  heads?: number[];
  /** window size: one for all stages or one per stage. */
  windowSize?: number | number[];
  /** number of leading convolutional stages. */
  convStages?: number;
  /** MLP hidden ratio. */
  mlpRatio?: number;
  /** MERba: scan orders summed by the local extractor (a list replaces, never merges). */
  scans?: ScanName[];
  /** MERba: extractor inside windows or over the whole map. */
  extractor?: ModelConfig["extractor"];
  /** MERba: attention over the whole map or inside windows. */
  attention?: ModelConfig["attention"];
  /** one linear head, or the dual-granularity module (DGCM). */
  head?: ModelConfig["head"];
  /** classes of the linear head. */
  numClasses?: number;
  /** dropout before the head. */
  dropout?: number;
  /** stochastic depth rate. */
  dropPath?: number;
  /** layer scale init (`null`: none). */
  layerScale?: number | null;
  /** mixer settings. */
  mixer?: MixerOverrides;
}

/** Early-stopping settings as written. */
export interface EarlyStoppingInput {
  /** monitored quantity (default `uf1`). */
  monitor?: MetricName | "loss";
  /** epochs without improvement before stopping (default 20). */
  patience?: number;
  /** smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** restore the best epoch's weights at the end (default true). */
  restoreBest?: boolean;
}

/**
 * A training recipe as written: every field optional (see
 * {@link TrainRecipeSchema} for the defaults, the paper's recipe).
 */
export interface TrainOverrides {
  /** epochs (default: 200 fixed split, 70 per fold otherwise). */
  epochs?: number;
  /** training batch size (default 128). */
  batchSize?: number;
  /** evaluation batch size (default 128). */
  evalBatchSize?: number;
  /**
   * micro-batch size (default: none): each step's batch runs in chunks of
   * at most this many samples with gradients accumulated (weighted by
   * chunk size) before one AdamW step — the full-batch gradient for models
   * without batch statistics; BatchNorm's batch statistics become per
   * micro-batch. Use it when a batch exhausts the backend's memory (e.g.
   * `--set train.microBatchSize=8` on wasm).
   */
  microBatchSize?: number;
  /**
   * gradient checkpointing (default false): the model's token blocks are
   * recomputed in the backward pass instead of keeping their intermediates,
   * trading about one extra block forward per step for most of the
   * activation memory; same losses and gradients to float rounding. With
   * `microBatchSize` it is what lets paper-scale MERba (224×224) train on
   * the wasm backend (`--set train.checkpoint=true`).
   */
  checkpoint?: boolean;
  /** AdamW settings. */
  optimizer?: {
    /** peak learning rate (default 1e-4; the paper's value was lost). */
    lr?: number;
    /** Adam betas (default [0.9, 0.999]). */
    betas?: [number, number];
    /** Adam epsilon (default 1e-8). */
    eps?: number;
    /** decoupled weight decay (default 0.05). */
    weightDecay?: number;
  };
  /** learning-rate schedule. */
  schedule?: {
    /** linear warmup epochs (default 5). */
    warmupEpochs?: number;
    /** final epochs held at `minLr` (default 10). */
    cooldownEpochs?: number;
    /** learning rate at the start of warmup (default 1e-6). */
    warmupStartLr?: number;
    /** floor of the cosine decay (default 1e-6). */
    minLr?: number;
  };
  /** early stopping (`null`: off). */
  earlyStopping?: EarlyStoppingInput | null;
  /** augmentation. */
  augment?: {
    /** horizontal-flip probability (default 0.5). */
    hflip?: number;
  };
  /** DGCM fine-loss weight α(epoch). */
  alpha?: {
    /** shape of the rise (default `linear`). */
    kind?: "constant" | "linear" | "cosine" | "step";
    /** α at the first epoch (default 0). */
    start?: number;
    /** α at the end of the ramp (default 1). */
    end?: number;
    /** epochs of the ramp (default: all). */
    rampEpochs?: number;
  };
}

/** The dataset as written (a `DatasetRequest`). */
export interface DatasetSpecInput {
  /** `synthetic-dfme`, `synthetic-3db`, `dfme`, `casme2`, `samm`, `smic`, `megc2019`. */
  name: string;
  /** corpus root on disk (real corpora; `--data NAME=ROOT` sets it). */
  root?: string;
  /** flow resolution (square). */
  imageSize: number;
  /** `uv` (default) or `uvs` (with optical strain). */
  channels?: "uv" | "uvs";
  /** flow cache folder. */
  cacheDir?: string;
  /**
   * dataset-specific options. Options merge key by key like every object;
   * `null` drops the options inherited from the spec a preset or `extends`
   * overrides (e.g. a synthetic set's sizes when a preset switches to a
   * real corpus).
   */
  options?: Record<string, unknown> | null;
}

/** The validated dataset. */
export interface DatasetSpec extends DatasetSpecInput {
  /** `uv` or `uvs`. */
  channels: "uv" | "uvs";
}

/** The protocol as written. */
export type ProtocolInput =
  | {
    /** leave one subject out. */
    kind: "loso";
    /** fold unit (only `subject`). */
    groupBy?: "subject";
    /** per-source breakdown (default `source`; `null`: none). */
    breakdownBy?: "source" | null;
  }
  | {
    /** a fixed split. */
    kind: "fixedSplit";
    /** the training split (default `train`). */
    train?: string;
    /** the test splits (default `testA`, `testB`). */
    tests?: string[];
  }
  | {
    /** subject-independent k-fold. */
    kind: "kfold";
    /** number of folds (≥ 2). */
    k: number;
    /** fold unit (only `subject`). */
    groupBy?: "subject";
    /** per-source breakdown (default `source`; `null`: none). */
    breakdownBy?: "source" | null;
  };

/** The validated protocol (defaults filled in). */
export type Protocol =
  | {
    /** leave one subject out. */
    kind: "loso";
    /** fold unit. */
    groupBy: "subject";
    /** per-source breakdown. */
    breakdownBy: "source" | null;
  }
  | {
    /** a fixed split. */
    kind: "fixedSplit";
    /** the training split. */
    train: string;
    /** the test splits. */
    tests: string[];
  }
  | {
    /** subject-independent k-fold. */
    kind: "kfold";
    /** number of folds. */
    k: number;
    /** fold unit. */
    groupBy: "subject";
    /** per-source breakdown. */
    breakdownBy: "source" | null;
  };

/** The validation choice as written (see {@link ValidationSchema}). */
export type ValidationInput =
  | {
    /** hold out training subjects. */
    kind: "subjects";
    /** fraction of training subjects held out (default 0.1). */
    fraction?: number;
  }
  | {
    /** monitor a test split (leaky). */
    kind: "test";
    /** which test split (default: the first). */
    split?: string;
  }
  | {
    /** no validation data. */
    kind: "none";
  };

/** The validated validation choice. */
export type Validation =
  | {
    /** hold out training subjects. */
    kind: "subjects";
    /** fraction of training subjects held out. */
    fraction: number;
  }
  | {
    /** monitor a test split (leaky). */
    kind: "test";
    /** which test split (default: the first). */
    split?: string;
  }
  | {
    /** no validation data. */
    kind: "none";
  };

/** A named variant. */
export interface VariantInput {
  /** a line on what it changes (shown in the plan and reports). */
  description?: string;
  /** model overrides (over the spec's `model`). */
  model?: ModelSpec;
  /** training overrides (over the spec's `train`). */
  train?: TrainOverrides;
}

/** Published numbers of one row. */
export interface PaperNumbers {
  /** unweighted F1. */
  uf1?: number;
  /** unweighted average recall. */
  uar?: number;
  /** accuracy. */
  acc?: number;
}

/** One row of another method's published numbers. */
export interface ReferenceRowInput {
  /** the method's name. */
  method: string;
  /** the group (test split or source) the numbers are for. */
  group: string;
  /** its numbers. */
  values: PaperNumbers;
}

/** The report section as written. */
export interface ReportSpecInput {
  /** metrics to show (default `uf1`, `uar`). */
  metrics?: MetricName[];
  /** groups to show (default: all). */
  groups?: string[];
  /** the paper's numbers: variant → group → metrics. */
  paper?: Record<string, Record<string, PaperNumbers>>;
  /** other methods' numbers. */
  references?: ReferenceRowInput[];
  /** the variant the other rows are compared with (default: the last). */
  reference?: string;
}

/** The validated report section. */
export interface ReportSpec {
  /** metrics to show. */
  metrics: MetricName[];
  /** groups to show (absent: all). */
  groups?: string[];
  /** the paper's numbers: variant → group → metrics. */
  paper: Record<string, Record<string, PaperNumbers>>;
  /** other methods' numbers. */
  references: ReferenceRowInput[];
  /** the variant the other rows are compared with (absent: the last). */
  reference?: string;
}

/** A preset as written: a partial spec merged over the spec (`--preset NAME`). */
export interface PresetInput {
  /** replaces the description. */
  description?: string;
  /** dataset fields to change. */
  dataset?: Partial<DatasetSpecInput>;
  /** replaces the protocol. */
  protocol?: ProtocolInput;
  /** replaces the validation choice. */
  validation?: ValidationInput;
  /** model overrides. */
  model?: ModelSpec;
  /** variants (merged by name). */
  variants?: Record<string, VariantInput>;
  /** grid axes. */
  grid?: Record<string, unknown[]>;
  /** training overrides. */
  train?: TrainOverrides;
  /** replaces the seeds. */
  seeds?: number[];
  /** replaces the backend. */
  backend?: typeof BACKEND_NAMES[number];
  /** report fields to change. */
  report?: Partial<ReportSpecInput>;
  /** launcher settings to change. */
  launcher?: LauncherSpec;
}

/** A validated preset. */
export interface Preset
  extends Omit<PresetInput, "protocol" | "validation" | "report"> {
  /** replaces the protocol. */
  protocol?: Protocol;
  /** replaces the validation choice. */
  validation?: Validation;
  /** report fields to change. */
  report?: Partial<ReportSpec>;
}

/** What a spec author writes (see the module doc). */
export interface ExperimentInput {
  /** a `.yaml`/`.ts` spec this one extends, relative to this file. */
  extends?: string;
  /** names the run folder `runs/<name>/`. */
  name: string;
  /** a line on the study. */
  description?: string;
  /** the dataset. */
  dataset: DatasetSpecInput;
  /** the evaluation protocol. */
  protocol: ProtocolInput;
  /** what early stopping monitors (default: 10% of training subjects). */
  validation?: ValidationInput;
  /** the base model and overrides shared by all variants. */
  model?: ModelSpec;
  /** named variants (none: one variant, `default`). */
  variants?: Record<string, VariantInput>;
  /** generated variants: field path → values (see {@link GridSchema}). */
  grid?: Record<string, unknown[]>;
  /** the training recipe (defaults: the paper's). */
  train?: TrainOverrides;
  /** root seeds (default [0]). */
  seeds?: number[];
  /** TF.js backend (default `wasm`). */
  backend?: typeof BACKEND_NAMES[number];
  /** what the report shows. */
  report?: ReportSpecInput;
  /** how the study runs (`--launcher`, `--slurm.*` override it). */
  launcher?: LauncherSpec;
  /** named partial overrides (`--preset NAME`). */
  presets?: Record<string, PresetInput>;
}

/** A validated spec with every default filled in. */
export interface Experiment {
  /** a spec this one extends (resolved by the loader). */
  extends?: string;
  /** names the run folder. */
  name: string;
  /** a line on the study. */
  description: string;
  /** the dataset. */
  dataset: DatasetSpec;
  /** the evaluation protocol. */
  protocol: Protocol;
  /** what early stopping monitors. */
  validation: Validation;
  /** the base model and overrides shared by all variants. */
  model: ModelSpec;
  /** named variants. */
  variants: Record<string, VariantInput>;
  /** generated variants. */
  grid?: Record<string, unknown[]>;
  /** training overrides (completed per variant by the planner). */
  train: TrainOverrides;
  /** root seeds. */
  seeds: number[];
  /** TF.js backend. */
  backend: typeof BACKEND_NAMES[number];
  /** what the report shows. */
  report: ReportSpec;
  /** how the study runs. */
  launcher?: LauncherSpec;
  /** named partial overrides. */
  presets: Record<string, Preset>;
}

/** Slurm settings of a study (see {@link SlurmSpecSchema}). */
export interface SlurmSpec {
  /** `--partition`. */
  partition?: string;
  /** `--time` per array task (`30`, `02:00:00`, `1-12:00:00`). */
  time?: string;
  /** `--gres`, e.g. `gpu:1`. */
  gres?: string;
  /** `--cpus-per-task`. */
  cpus?: number;
  /** `--mem`, e.g. `16G`. */
  mem?: string;
  /** at most this many array tasks at once. */
  arrayParallel?: number;
  /** jobs per array task. */
  jobsPerTask?: number;
  /** submissions of one job at most, retries included. */
  maxAttempts?: number;
  /** further `sbatch` options. */
  extra?: string;
}

/** How a study runs (see {@link LauncherSpecSchema}). */
export interface LauncherSpec {
  /** `local` or `slurm`. */
  kind?: typeof LAUNCHER_KINDS[number];
  /** the Slurm settings. */
  slurm?: SlurmSpec;
}

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function agree<T extends true>(_: T): void {}
agree<Same<ExperimentInput, v.InferInput<typeof ExperimentSchema>>>(true);
agree<Same<Experiment, v.InferOutput<typeof ExperimentSchema>>>(true);
agree<Same<ModelSpec, v.InferOutput<typeof ModelSpecSchema>>>(true);
agree<Same<ModelSpec, v.InferInput<typeof ModelSpecSchema>>>(true);
agree<Same<TrainOverrides, v.InferInput<typeof TrainOverridesSchema>>>(true);
agree<Same<TrainOverrides, v.InferInput<typeof TrainRecipeSchema>>>(true);
agree<Same<PresetInput, v.InferInput<typeof PresetSchema>>>(true);
agree<Same<Preset, v.InferOutput<typeof PresetSchema>>>(true);
agree<Same<Protocol, v.InferOutput<typeof ProtocolSchema>>>(true);
agree<Same<Validation, v.InferOutput<typeof ValidationSchema>>>(true);
agree<Same<ReportSpec, v.InferOutput<typeof ReportSpecSchema>>>(true);
agree<Same<DatasetSpec, v.InferOutput<typeof DatasetSchema>>>(true);
agree<Same<LauncherSpec, v.InferOutput<typeof LauncherSpecSchema>>>(true);
agree<Same<LauncherSpec, v.InferInput<typeof LauncherSpecSchema>>>(true);

// The model section is a partial ModelConfig whose `family` comes from its
// `base`: the same fields with the same value types (the mixer's: a
// partial MixerConfig). A field added to ModelConfig (model/types.ts)
// fails to compile here until the schema has it too.
type SpecModelFields = Exclude<keyof ModelSpec, "base">;
agree<Same<SpecModelFields, Exclude<keyof ModelConfig, "family">>>(true);
agree<
  Same<
    Required<Omit<ModelSpec, "base" | "mixer">>,
    Omit<ModelConfig, "family" | "mixer">
  >
>(true);
agree<Same<Required<MixerOverrides>, Required<MixerConfig>>>(true);
