/**
 * The scales every paper experiment is declared at, shared by the specs in
 * this folder so that "smoke", "small" and "paper" mean the same thing in
 * each table. The models are named sizes of the model registry
 * (`model/sizes.ts`), one MERba and one MambaVision-B per scale
 * ({@link SCALES}):
 *
 * - the spec itself (no `--preset`): the built-in synthetic benchmark at
 *   64×64 with `merba-laptop` — a laptop-sized run of the whole table;
 * - `smoke`: `merba-smoke` for two epochs on the default synthetic set —
 *   CI runs it twice and requires identical tables;
 * - `small`: `merba-small` (128×128, half the paper's widths, shallower
 *   stages) — a first pass on a real corpus on a workstation CPU;
 * - `paper`: `merba-b`, the paper's scale (224×224, MambaVision-B widths
 *   and depths, window 7, batch 128, the paper's epochs) on the real
 *   corpus; needs `--data NAME=ROOT` and, realistically, a GPU.
 *
 * A table composes its presets from {@link scalePreset} (one scale) or
 * {@link scalePresets} (all three) for its {@link Corpus}; the DFME tables
 * share one laptop study ({@link dfmeStudy}).
 *
 * @module
 */
import type { ExperimentInput } from "../dsl/schema.ts";
import type { ModelName } from "../model/sizes.ts";

/** A model section of a spec. */
export type ModelSpecInput = NonNullable<ExperimentInput["model"]>;
/** A preset of a spec. */
export type PresetInput = NonNullable<ExperimentInput["presets"]>[string];

/** The registry's MERba and MambaVision-B of every scale. */
export const SCALES = {
  laptop: { merba: "merba-laptop", mambavision: "mambavision-laptop" },
  smoke: { merba: "merba-smoke", mambavision: "mambavision-smoke" },
  small: { merba: "merba-small", mambavision: "mambavision-small" },
  paper: { merba: "merba-b", mambavision: "mambavision-b" },
} as const satisfies Record<
  string,
  { merba: ModelName; mambavision: ModelName }
>;

/** A scale with a preset. */
export type PresetScale = "smoke" | "small" | "paper";

/**
 * The default (laptop) synthetic DFME-like set: 94 subjects, 752 clips —
 * 28 training subjects (224 clips, as many as a 40-subject set in DFME's
 * proportions gives) and 66 test subjects, Test A 40 subjects (320 clips)
 * and Test B 26 subjects (208 clips; DFME's Test B has 299): large enough
 * test sets for intervals and paired comparisons between rows, while the
 * training cost stays a laptop's. The generator's default (24 subjects in
 * DFME's proportions, 24 + 16 test clips) is what `smoke` uses.
 */
export const LAPTOP_DFME = {
  name: "synthetic-dfme",
  imageSize: 64,
  options: { subjects: 94, testSubjects: 66 },
};

/**
 * The laptop defaults' early-stopping data: a subject-disjoint fifth of the
 * training subjects (6 of 28; the schema's default tenth left 3 subjects,
 * 24 clips, too few to pick the best epoch by). The presets keep the
 * default tenth.
 */
export const LAPTOP_VALIDATION = { kind: "subjects" as const, fraction: 0.2 };

/** The schema's default early-stopping data, restored by every preset. */
const DEFAULT_VALIDATION = { kind: "subjects" as const, fraction: 0.1 };

/**
 * The seeds of every laptop default: three, so that a row's spread over
 * seeds and the paired differences between rows can be estimated.
 */
export const LAPTOP_SEEDS = [0, 1, 2];

/** The default (laptop) model: `merba-laptop` (64×64 input, window 2, narrow stages). */
export const LAPTOP_MODEL: ModelSpecInput = { base: SCALES.laptop.merba };

/** MambaVision-B at laptop scale: `mambavision-laptop` (the reference's two conv stages). */
export const LAPTOP_MAMBAVISION: ModelSpecInput = {
  base: SCALES.laptop.mambavision,
};

/**
 * The laptop-scale training recipe: 20 epochs, of which 3 warm up and the
 * last one holds the floor rate (the cosine decay reaches it before; three
 * cooldown epochs at ~0 learning rate bought nothing but time).
 *
 * Sized so that Table VII's 18 jobs (6 variants × 3 seeds, two at a time)
 * fit 15 minutes on an idle 2-core machine with OpenBLAS; the measured wall
 * time is in the README.
 */
export const LAPTOP_TRAIN = {
  epochs: 20,
  batchSize: 32,
  evalBatchSize: 64,
  optimizer: { lr: 1e-3 },
  schedule: { warmupEpochs: 3, cooldownEpochs: 1 },
  earlyStopping: { monitor: "uf1" as const, patience: 10 },
};

/** Which real corpus the `paper`/`small` presets read, and the paper's epochs. */
export interface Corpus {
  /** dataset name of the real corpus (`dfme`, `megc2019`). */
  dataset: string;
  /** the paper's epochs (200 for DFME, 70 per LOSO fold). */
  epochs: number;
  /** smoke-size options of the synthetic set. */
  smokeData: Record<string, unknown>;
}

/** DFME-public (fixed split, 200 epochs); smoke: 24 subjects, 7 of them tested. */
export const DFME: Corpus = {
  dataset: "dfme",
  epochs: 200,
  smokeData: { subjects: 24, testSubjects: 7 },
};

/** The MEGC 2019 3DB composite (LOSO, 70 epochs per fold); smoke: 9 subjects of 6 clips. */
export const MEGC2019: Corpus = {
  dataset: "megc2019",
  epochs: 70,
  smokeData: { subjects: 9, samplesPerSubject: 6 },
};

/** Options of the scale presets. */
export interface ScaleOptions {
  /** names of the variants that are MambaVision-B (they get its size at each scale). */
  mambaVisionVariants?: string[];
}

/** The training recipe of each preset scale (`corpus` gives the paper's epochs). */
function scaleTrain(scale: PresetScale, corpus: Corpus): PresetInput["train"] {
  switch (scale) {
    case "smoke":
      return {
        epochs: 2,
        batchSize: 16,
        evalBatchSize: 64,
        schedule: { warmupEpochs: 1, cooldownEpochs: 0 },
        earlyStopping: null,
      };
    case "small":
      return {
        epochs: Math.min(corpus.epochs, 60),
        batchSize: 32,
        // the wasm heap (4 GiB) holds 8 samples of this model's activations
        microBatchSize: 8,
        optimizer: { lr: 5e-4 },
        schedule: { warmupEpochs: 3, cooldownEpochs: 5 },
      };
    case "paper":
      return {
        epochs: corpus.epochs,
        batchSize: 128,
        // What fits the CPU backend's 4 GiB wasm heap at 224×224 (111M
        // parameters): gradients accumulated over micro-batches of 2, token
        // blocks recomputed in the backward pass. On a large GPU raise
        // microBatchSize/evalBatchSize and set checkpoint false for speed.
        microBatchSize: 2,
        checkpoint: true,
        evalBatchSize: 8,
        optimizer: { lr: 1e-4 },
        schedule: { warmupEpochs: 5, cooldownEpochs: 10 },
        earlyStopping: { monitor: "uf1", patience: 20 },
      };
  }
}

const DESCRIPTIONS: Record<PresetScale, string> = {
  smoke:
    "tiny model, 2 epochs, default synthetic set: a reproducibility check, not a result",
  small:
    "128×128, half the paper's widths: a first pass on a real corpus on a workstation CPU",
  paper:
    "the paper's scale and recipe on the real corpus (pass --data); GPU advised",
};

/**
 * The preset of one scale: its models (MERba for the spec, MambaVision-B
 * for `options.mambaVisionVariants`), its data (the synthetic set at smoke
 * size, else `corpus`), early-stopping data and recipe.
 */
export function scalePreset(
  scale: PresetScale,
  corpus: Corpus,
  options: ScaleOptions = {},
): PresetInput {
  const sizes = SCALES[scale];
  const variants = Object.fromEntries(
    (options.mambaVisionVariants ?? []).map((name) => [
      name,
      { model: { base: sizes.mambavision } },
    ]),
  );
  const dataset = scale === "smoke"
    ? { imageSize: 64, options: corpus.smokeData }
    : {
      name: corpus.dataset,
      imageSize: scale === "small" ? 128 : 224,
      options: null,
    };
  const preset: PresetInput = {
    description: DESCRIPTIONS[scale],
    dataset,
    validation: DEFAULT_VALIDATION,
    model: { base: sizes.merba },
    variants,
    train: scaleTrain(scale, corpus),
  };
  if (scale === "smoke") preset.seeds = [0];
  return preset;
}

/** The `smoke`, `small` and `paper` presets of a paper experiment on `corpus`. */
export function scalePresets(
  corpus: Corpus,
  options: ScaleOptions = {},
): Record<PresetScale, PresetInput> {
  return {
    smoke: scalePreset("smoke", corpus, options),
    small: scalePreset("small", corpus, options),
    paper: scalePreset("paper", corpus, options),
  };
}

/** The parts of a spec a laptop DFME study declares. */
export type Study = Required<
  Pick<
    ExperimentInput,
    "dataset" | "model" | "validation" | "train" | "seeds" | "presets"
  >
>;

/**
 * The laptop DFME study the DFME tables share: the laptop synthetic set,
 * `merba-laptop`, a fifth of the training subjects for early stopping, the
 * laptop recipe, three seeds, and the scale presets on DFME.
 */
export function dfmeStudy(options: ScaleOptions = {}): Study {
  return {
    dataset: LAPTOP_DFME,
    model: LAPTOP_MODEL,
    validation: LAPTOP_VALIDATION,
    train: LAPTOP_TRAIN,
    seeds: LAPTOP_SEEDS,
    presets: scalePresets(DFME, options),
  };
}
