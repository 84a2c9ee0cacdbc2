/**
 * Shared types of the data layer: samples as the corpora describe them, flow
 * samples as the models consume them, and the request that names a dataset.
 *
 * @module
 */

/** The seven DFME emotion labels, in the project's canonical order. */
export const EMOTIONS_7 = [
  "anger",
  "contempt",
  "disgust",
  "fear",
  "happiness",
  "sadness",
  "surprise",
] as const;

/** The three MEGC2019 composite classes, in canonical order. */
export const CLASSES_3 = ["negative", "positive", "surprise"] as const;

/** One annotated micro-expression clip. */
export interface SampleRecord {
  /** unique within the dataset, e.g. `casme2/sub01/EP02_01f`. */
  id: string;
  /** subject id, unique across sources (e.g. `casme2/sub01`); LOSO groups by it. */
  subject: string;
  /** source corpus (`smic`, `casme2`, `samm`, `dfme`, `synthetic-…`). */
  source: string;
  /** label in the dataset's class list. */
  label: string;
  /** fixed-split membership (`train`, `testA`, `testB`), when the corpus has one. */
  split?: string;
  /** frame files (absent for in-memory synthetic samples). */
  frames?: { onset: string; apex: string; offset?: string };
}

/** A sample with its preprocessed motion input. */
export interface FlowSample extends SampleRecord {
  /** flow rows. */
  height: number;
  /** flow columns. */
  width: number;
  /** 2 (u, v) or 3 (u, v, optical strain). */
  channels: number;
  /** HWC float32, channel 0 = u (horizontal), 1 = v (vertical), 2 = strain. */
  data: Float32Array;
}

/** A loaded dataset, ready for a protocol. */
export interface FlowDataset {
  /** dataset name as requested (e.g. `synthetic-3db`). */
  name: string;
  /** class names; labels index into this list. */
  classes: readonly string[];
  /** the samples with their flow tensors. */
  samples: FlowSample[];
  /** a line on what it is (shown in reports). */
  description: string;
}

/** Names a dataset and how to prepare it. */
export interface DatasetRequest {
  /**
   * `synthetic-dfme` (7-class fixed split), `synthetic-3db` (3-class
   * composite for LOSO), or a real corpus: `dfme`, `casme2`, `samm`, `smic`,
   * `megc2019` (3DB composite).
   */
  name: string;
  /** corpus root on disk (real corpora). */
  root?: string;
  /** flow resolution (square). */
  imageSize: number;
  /** `uv` or `uvs` (with optical strain). */
  channels: "uv" | "uvs";
  /** flow cache folder (default `.cache/flow`). */
  cacheDir?: string;
  /** dataset-specific options (synthetic sizes, seed, …). */
  options?: Record<string, unknown>;
}
