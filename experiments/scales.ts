/**
 * The scales every paper experiment is declared at, shared by the specs in
 * this folder so that "smoke", "small" and "paper" mean the same thing in
 * each table.
 *
 * - the spec itself (no `--preset`): the built-in synthetic benchmark at
 *   64×64 with a narrow MERba — a laptop-sized run of the whole table;
 * - `smoke`: a tiny model for two epochs on the default synthetic set — CI
 *   runs it twice and requires identical tables;
 * - `small`: 128×128 input, half the paper's widths, shallower stages — for
 *   a first pass on a real corpus on a workstation CPU;
 * - `paper`: the paper's scale (224×224, MambaVision-B widths and depths,
 *   window 7, batch 128, the paper's epochs) on the real corpus; needs
 *   `--data NAME=ROOT` and, realistically, a GPU.
 *
 * The stage geometry is kept the same at every scale: the LGFI stages see
 * 4×4, 2×2 and 1×1 windows of the map (16, 4 and 1 windows), as at 224×224
 * with window 7 (28×28, 14×14, 7×7 maps).
 *
 * @module
 */
import type { ExperimentInput } from "../dsl/schema.ts";

/** A model section of a spec. */
export type ModelSpecInput = NonNullable<ExperimentInput["model"]>;
/** A preset of a spec. */
export type PresetInput = NonNullable<ExperimentInput["presets"]>[string];

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

/** The default (laptop) model: 64×64 input, window 2, narrow stages. */
export const LAPTOP_MODEL: ModelSpecInput = {
  base: "merba",
  stemDim: 16,
  dims: [32, 64, 128, 256],
  depths: [1, 1, 2, 1],
  attentionDepths: [0, 1, 1, 1],
  heads: [1, 2, 4, 8],
  windowSize: 2,
  dropPath: 0.1,
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

/** MambaVision-B at laptop scale: the reference's two conv stages. */
export const LAPTOP_MAMBAVISION: ModelSpecInput = {
  base: "mambavision-b",
  convStages: 2,
  attentionDepths: [0, 0, 0, 0],
  head: "linear",
};

const SMOKE_MODEL: ModelSpecInput = {
  stemDim: 8,
  dims: [8, 16, 32, 64],
  depths: [1, 1, 1, 1],
  attentionDepths: [0, 1, 1, 1],
  heads: [1, 1, 2, 4],
  windowSize: 2,
  dropPath: 0,
};

const SMOKE_TRAIN = {
  epochs: 2,
  batchSize: 16,
  evalBatchSize: 64,
  schedule: { warmupEpochs: 1, cooldownEpochs: 0 },
  earlyStopping: null,
};

const SMALL_MODEL: ModelSpecInput = {
  stemDim: 32,
  dims: [64, 128, 256, 512],
  depths: [2, 1, 4, 2],
  attentionDepths: [0, 2, 2, 2],
  heads: [2, 4, 8, 16],
  windowSize: 4,
  dropPath: 0.2,
};

/** The paper's MERba (merbaBase() of the model library, Table I's sizes being lost). */
const PAPER_MODEL: ModelSpecInput = {
  stemDim: 64,
  dims: [128, 256, 512, 1024],
  depths: [3, 1, 8, 3],
  attentionDepths: [0, 2, 2, 2],
  heads: [2, 4, 8, 16],
  windowSize: 7,
  dropPath: 0.3,
};

/** MambaVision-B exactly as the reference declares it. */
const PAPER_MAMBAVISION: ModelSpecInput = {
  depths: [3, 3, 10, 5],
  windowSize: [8, 8, 14, 7],
  convStages: 2,
};

/** Which real corpus the `paper`/`small` presets read, and the paper's epochs. */
export interface CorpusScale {
  /** dataset name of the real corpus (`dfme`, `megc2019`). */
  dataset: string;
  /** the paper's epochs (200 for DFME, 70 per LOSO fold). */
  epochs: number;
  /** smoke-size options of the synthetic set. */
  smokeData: Record<string, unknown>;
  /** names of the variants that are MambaVision-B (they get its own sizes). */
  mambaVisionVariants?: string[];
}

/** The `smoke`, `small` and `paper` presets of a paper experiment. */
export function scalePresets(scale: CorpusScale): Record<string, PresetInput> {
  const mv = scale.mambaVisionVariants ?? [];
  const perVariant = (model: ModelSpecInput) =>
    Object.fromEntries(mv.map((name) => [name, { model }]));
  return {
    smoke: {
      description:
        "tiny model, 2 epochs, default synthetic set: a reproducibility check, not a result",
      dataset: { imageSize: 64, options: scale.smokeData },
      model: SMOKE_MODEL,
      variants: perVariant({ convStages: 2 }),
      train: SMOKE_TRAIN,
      validation: DEFAULT_VALIDATION,
      seeds: [0],
    },
    small: {
      description:
        "128×128, half the paper's widths: a first pass on a real corpus on a workstation CPU",
      dataset: { name: scale.dataset, imageSize: 128, options: null },
      validation: DEFAULT_VALIDATION,
      model: SMALL_MODEL,
      variants: perVariant({ convStages: 2 }),
      train: {
        epochs: Math.min(scale.epochs, 60),
        batchSize: 32,
        // the wasm heap (4 GiB) holds 8 samples of this model's activations
        microBatchSize: 8,
        optimizer: { lr: 5e-4 },
        schedule: { warmupEpochs: 3, cooldownEpochs: 5 },
      },
    },
    paper: {
      description:
        "the paper's scale and recipe on the real corpus (pass --data); GPU advised",
      dataset: { name: scale.dataset, imageSize: 224, options: null },
      validation: DEFAULT_VALIDATION,
      model: PAPER_MODEL,
      variants: perVariant(PAPER_MAMBAVISION),
      train: {
        epochs: scale.epochs,
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
      },
    },
  };
}
