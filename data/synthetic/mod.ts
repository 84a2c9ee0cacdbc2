/**
 * The built-in synthetic micro-expression benchmark: a deterministic,
 * seed-driven TEST-BED for the toolkit (nothing is downloaded). It is not a
 * substitute for real data and its numbers say nothing about real
 * micro-expression recognition.
 *
 * Each subject gets a procedurally rendered grey face (face oval, eyes,
 * brows, nose, nasolabial folds, lips; subject-specific positions and sizes;
 * textured, shaded skin) and an expression style: overall and per-unit gain,
 * left/right asymmetry, preferred side for unilateral units, and a "dialect"
 * (which action units of each emotion this subject shows). A clip is a
 * neutral onset frame and an apex frame in which low-intensity FACS-like
 * action units are applied as smooth displacement fields around landmarks
 * (happiness AU6+12, disgust AU9/10, surprise AU1+2+5+26, sadness AU1+4+15,
 * anger AU4+5+7+23, fear AU1+2+4+5+20, contempt unilateral AU14), with a
 * small sub-pixel head motion (translation, roll, scale), a lighting
 * gradient, sensor noise and 8-bit quantisation; some clips carry a weak
 * unrelated movement. Peak motion is about 1–2 px at 64 px.
 *
 * Flavours:
 * - `synthetic-dfme`: 7 classes (EMOTIONS_7), fixed subject-disjoint
 *   train/testA/testB split, class proportions of the paper's Table II.
 * - `synthetic-3db`: 3 classes (CLASSES_3), composite of `synthetic-smic`,
 *   `synthetic-casme2`, `synthetic-samm` (subjects 16:24:28, samples
 *   164:145:133, class mixes of Table III; subjects `source/name`), for LOSO.
 *   `negative` renders an emotion from the source's negative mix.
 *
 * ```ts
 * import { loadSyntheticDataset } from "./mod.ts";
 * const ds = await loadSyntheticDataset({
 *   name: "synthetic-3db", imageSize: 32, channels: "uv",
 *   options: { seed: 7 },
 * });
 * ```
 *
 * To exercise the real-corpus pipeline (decode, align, resize, flow), write
 * the frames to disk with {@link writeSyntheticCorpus}: PNG frames plus
 * annotation files in the layouts that data/adapters reads (DFME split CSVs,
 * or a MEGC2019 composite CSV with the generic clip layout); see corpus.ts.
 *
 * The first load computes TV-L1 flows (most of its time); later loads
 * read the flow cache. Both flavours are learnable but not trivial
 * (load times and a nearest-class-mean baseline: `scripts/bench/README`).
 *
 * @module
 */

export {
  ACTION_UNITS,
  type ActionUnit,
  type AuActivation,
  displacementAt,
  displacementJacobianAt,
  EMOTION_PROTOTYPES,
  type EmotionPrototype,
  type FaceGeometry,
  invertWarp,
  type Kernel,
  type Laterality,
} from "./action_units.ts";
export type { FaceAppearance, HeadPose, Imaging, Texture } from "./face.ts";
export {
  renderSyntheticClip,
  type SyntheticClip,
  syntheticTrueMotion,
} from "./clip.ts";
export { type SyntheticCorpus, writeSyntheticCorpus } from "./corpus.ts";
export {
  computeSyntheticFlow,
  describePlan,
  loadSyntheticDataset,
  SYNTHETIC_GENERATOR_VERSION,
} from "./dataset.ts";
export {
  COMPOSITE_SOURCES,
  DFME_TABLE,
  MAX_AU_GAIN,
  planSyntheticDataset,
  type RelativePose,
  resolveSyntheticOptions,
  type SourceSpec,
  type SubjectStyle,
  SYNTHETIC_DEFAULTS,
  SYNTHETIC_FLAVOURS,
  type SyntheticFlavour,
  type SyntheticOptions,
  type SyntheticPlan,
  type SyntheticSamplePlan,
  type SyntheticSubject,
} from "./plan.ts";
export type {
  DatasetRequest,
  FlowDataset,
  FlowSample,
  SampleRecord,
} from "../types.ts";
export type { FlowField, Tvl1Options } from "../flow/mod.ts";
