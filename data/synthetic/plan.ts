/**
 * The synthetic benchmark's options and its plan: which subjects exist, what
 * their faces and expression styles are, which samples each has, with which
 * labels, splits, action units, head motion and imaging conditions.
 *
 * Everything is drawn from streams owned by (seed, subject id) or (seed,
 * sample id), so a sample's content does not depend on generation order.
 *
 * @module
 */

import { CLASSES_3, EMOTIONS_7, type SampleRecord } from "../types.ts";
import {
  ACTION_UNITS,
  type ActionUnit,
  type AuActivation,
  EMOTION_PROTOTYPES,
  type FaceGeometry,
} from "./action_units.ts";
import {
  type FaceAppearance,
  type Imaging,
  sampleAppearance,
  sampleGeometry,
} from "./face.ts";
import { type AleaRng, makeRng } from "./rng.ts";

/** The two flavours of the synthetic benchmark. */
export type SyntheticFlavour = "synthetic-dfme" | "synthetic-3db";

/** The flavour names, for validation and listings. */
export const SYNTHETIC_FLAVOURS: readonly SyntheticFlavour[] = [
  "synthetic-dfme",
  "synthetic-3db",
];

/** Resolved generator options (see {@link resolveSyntheticOptions}). */
export interface SyntheticOptions {
  /** dataset seed (integer); same seed ⇒ identical dataset. */
  seed: number;
  /** total subjects (synthetic-3db: split 16:24:28 over SMIC/CASME II/SAMM-like sources). */
  subjects: number;
  /** mean samples per subject (total samples = subjects × samplesPerSubject). */
  samplesPerSubject: number;
  /** side of the rendered square frames, pixels. */
  renderSize: number;
  /** global multiplier of action-unit intensity (1 = default difficulty; per-side gains saturate at {@link MAX_AU_GAIN}). */
  intensity: number;
  /** TV-L1 options passed to `tvl1Flow` (partial; the defaults fill the rest). */
  tvl1: Record<string, number | boolean>;
  /**
   * synthetic-dfme only: how many of the `subjects` form the test splits
   * (Test A : Test B as 474 : 299, each ≥ 1), the rest being training
   * subjects — large test sets beside a small training set. Absent: the
   * subjects are split train : testA : testB as 1856 : 474 : 299.
   */
  testSubjects?: number;
}

/** Default options per flavour: small enough for a two-minute smoke run. */
export const SYNTHETIC_DEFAULTS: Readonly<
  Record<SyntheticFlavour, Readonly<SyntheticOptions>>
> = {
  "synthetic-dfme": {
    seed: 1,
    subjects: 24,
    samplesPerSubject: 8,
    renderSize: 64,
    intensity: 1,
    tvl1: {},
  },
  "synthetic-3db": {
    seed: 1,
    subjects: 17,
    samplesPerSubject: 10,
    renderSize: 64,
    intensity: 1,
    tvl1: {},
  },
};

const OPTION_NAMES = [
  "seed",
  "subjects",
  "samplesPerSubject",
  "renderSize",
  "intensity",
  "tvl1",
  "testSubjects",
] as const;

function fail(flavour: string, msg: string): never {
  throw new Error(`${flavour}: ${msg}`);
}

function intOption(
  flavour: string,
  raw: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const v = raw[name];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    fail(
      flavour,
      `option '${name}' must be an integer in [${min}, ${max}], got ${
        JSON.stringify(v)
      }`,
    );
  }
  return v;
}

/**
 * Validates `raw` options of a flavour and fills in the defaults.
 * Unknown option names, non-integers and out-of-range values throw an Error
 * naming the flavour, the option and the value.
 */
export function resolveSyntheticOptions(
  flavour: string,
  raw: Record<string, unknown> = {},
): SyntheticOptions {
  if (!(SYNTHETIC_FLAVOURS as readonly string[]).includes(flavour)) {
    throw new Error(
      `unknown synthetic dataset '${flavour}' (known: ${
        SYNTHETIC_FLAVOURS.join(", ")
      })`,
    );
  }
  const d = SYNTHETIC_DEFAULTS[flavour as SyntheticFlavour];
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    fail(flavour, `options must be an object, got ${JSON.stringify(raw)}`);
  }
  for (const k of Object.keys(raw)) {
    if (!(OPTION_NAMES as readonly string[]).includes(k)) {
      fail(
        flavour,
        `unknown option '${k}' (known: ${OPTION_NAMES.join(", ")})`,
      );
    }
  }
  const seed = intOption(flavour, raw, "seed", 0, 2 ** 53 - 1, d.seed);
  const subjects = intOption(flavour, raw, "subjects", 3, 10000, d.subjects);
  const samplesPerSubject = intOption(
    flavour,
    raw,
    "samplesPerSubject",
    1,
    1000,
    d.samplesPerSubject,
  );
  const renderSize = intOption(
    flavour,
    raw,
    "renderSize",
    24,
    1024,
    d.renderSize,
  );
  let intensity = d.intensity;
  if (raw.intensity !== undefined) {
    const v = raw.intensity;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || v > 10) {
      fail(
        flavour,
        `option 'intensity' must be a number in (0, 10], got ${
          JSON.stringify(v)
        }`,
      );
    }
    intensity = v;
  }
  let tvl1: Record<string, number | boolean> = { ...d.tvl1 };
  if (raw.tvl1 !== undefined) {
    const v = raw.tvl1;
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      fail(
        flavour,
        `option 'tvl1' must be an object of TV-L1 options, got ${
          JSON.stringify(v)
        }`,
      );
    }
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x !== "number" && typeof x !== "boolean") {
        fail(
          flavour,
          `option 'tvl1.${k}' must be a number or boolean, got ${
            JSON.stringify(x)
          }`,
        );
      }
    }
    tvl1 = { ...(v as Record<string, number | boolean>) };
  }
  const out: SyntheticOptions = {
    seed,
    subjects,
    samplesPerSubject,
    renderSize,
    intensity,
    tvl1,
  };
  if (raw.testSubjects !== undefined) {
    if (flavour !== "synthetic-dfme") {
      fail(
        flavour,
        "option 'testSubjects' applies to synthetic-dfme only (the composite has no test splits)",
      );
    }
    out.testSubjects = intOption(
      flavour,
      raw,
      "testSubjects",
      2,
      subjects - 1,
      0,
    );
  }
  return out;
}

/** Paper Table II: DFME-public class counts per split (EMOTIONS_7 order). */
export const DFME_TABLE: Readonly<Record<string, readonly number[]>> = {
  train: [161, 100, 548, 265, 206, 278, 298],
  testA: [39, 34, 129, 62, 63, 46, 101],
  testB: [41, 37, 58, 38, 42, 35, 48],
};

/** A source of the 3-class composite. */
export interface SourceSpec {
  /** source name, e.g. `synthetic-casme2`. */
  name: string;
  /** subject count in the real composite (16 : 24 : 28). */
  subjects: number;
  /** paper Table III class counts (CLASSES_3 order). */
  classCounts: readonly number[];
  /** subject folder naming: `s01`, `sub01`, `006`. */
  subjectName: (i: number) => string;
  /** 7-class emotions behind `negative`, with weights. */
  negativeMix: Readonly<Record<string, number>>;
  /** sensor noise standard deviation (grey levels). */
  noiseSd: number;
  /** lighting gradient strength. */
  lightStrength: number;
  /** expression gain of the source's clips. */
  gain: number;
}

/** The three sources of synthetic-3db (SMIC-HS-, CASME II-, SAMM-like). */
export const COMPOSITE_SOURCES: readonly SourceSpec[] = [
  {
    name: "synthetic-smic",
    subjects: 16,
    classCounts: [70, 51, 43],
    subjectName: (i) => `s${String(i + 1).padStart(2, "0")}`,
    negativeMix: { anger: 0.2, disgust: 0.3, fear: 0.2, sadness: 0.3 },
    noiseSd: 2.2,
    lightStrength: 0.18,
    gain: 0.85,
  },
  {
    name: "synthetic-casme2",
    subjects: 24,
    classCounts: [88, 32, 25],
    subjectName: (i) => `sub${String(i + 1).padStart(2, "0")}`,
    negativeMix: { disgust: 0.6, sadness: 0.2, contempt: 0.2 },
    noiseSd: 1.2,
    lightStrength: 0.1,
    gain: 1,
  },
  {
    name: "synthetic-samm",
    subjects: 28,
    classCounts: [92, 26, 15],
    subjectName: (i) => String(i + 6).padStart(3, "0"),
    negativeMix: {
      anger: 0.35,
      contempt: 0.15,
      disgust: 0.2,
      fear: 0.15,
      sadness: 0.15,
    },
    noiseSd: 0.9,
    lightStrength: 0.06,
    gain: 0.9,
  },
];

const DFME_IMAGING = { noiseSd: 1.5, lightStrength: 0.12, gain: 1 };

/**
 * Splits `total` into integer parts proportional to `weights` (largest
 * remainder), each at least `min` when `total ≥ min · weights.length`.
 */
export function apportion(
  total: number,
  weights: readonly number[],
  min = 0,
): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const ideal = weights.map((w) => (total * w) / sum);
  const out = ideal.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = ideal
    .map((x, i) => ({ i, frac: x - Math.floor(x) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) {
    out[order[k].i]++;
  }
  if (total >= min * weights.length) {
    for (let i = 0; i < out.length; i++) {
      while (out[i] < min) {
        let j = 0;
        for (let m = 1; m < out.length; m++) if (out[m] > out[j]) j = m;
        out[j]--;
        out[i]++;
      }
    }
  }
  return out;
}

/** How a subject expresses emotions. */
export interface SubjectStyle {
  /** overall expression gain. */
  gain: number;
  /** per action-unit gain. */
  auGain: Readonly<Record<number, number>>;
  /** left/right imbalance a: left = g(1 − a), right = g(1 + a). */
  asymmetry: number;
  /** side of unilateral units (contempt), −1 image left, +1 image right. */
  preferredSide: -1 | 1;
  /** the action units this subject shows for each emotion ("dialect"). */
  dialect: Readonly<Record<string, readonly ActionUnit[]>>;
}

/** A subject of the synthetic benchmark. */
export interface SyntheticSubject {
  /** unique across sources: `source/name`. */
  id: string;
  /** source corpus name. */
  source: string;
  /** folder name inside its source (`s01`, `sub01`, `006`). */
  name: string;
  /** fixed split (synthetic-dfme only). */
  split?: string;
  /** face geometry. */
  geometry: FaceGeometry;
  /** face appearance. */
  appearance: FaceAppearance;
  /** expression style. */
  style: SubjectStyle;
  /** the subject's usual pose in the frame. */
  pose: RelativePose;
  /** direction of the lighting gradient (radians). */
  lightAngle: number;
}

/** Pose relative to the frame size: centre = (0.5 + ox, 0.5 + oy)·size, scale·size px per unit. */
export interface RelativePose {
  /** horizontal centre offset (fraction of the frame size). */
  ox: number;
  /** vertical centre offset (fraction of the frame size). */
  oy: number;
  /** pixels per canonical unit, as a fraction of the frame size. */
  scale: number;
  /** in-plane rotation (radians). */
  roll: number;
}

/** One planned clip. */
export interface SyntheticSamplePlan {
  /** the sample as the data layer describes it. */
  record: SampleRecord;
  /** clip folder name inside the subject's folder. */
  clip: string;
  /** the 7-class emotion rendered (equals the label in synthetic-dfme). */
  emotion: string;
  /** the action units applied at apex. */
  activations: AuActivation[];
  /** head pose at onset. */
  pose0: RelativePose;
  /** head pose at apex. */
  pose1: RelativePose;
  /** lighting and sensor noise. */
  imaging: Imaging;
  /** the subject (shared object). */
  subject: SyntheticSubject;
}

/** A planned dataset. */
export interface SyntheticPlan {
  /** which flavour. */
  flavour: SyntheticFlavour;
  /** the resolved options. */
  options: SyntheticOptions;
  /** class names (EMOTIONS_7 or CLASSES_3). */
  classes: readonly string[];
  /** all subjects. */
  subjects: SyntheticSubject[];
  /** all clips, sorted by id. */
  samples: SyntheticSamplePlan[];
}

function sampleStyle(rng: AleaRng): SubjectStyle {
  const gain = Math.min(1.8, Math.max(0.5, Math.exp(rng.normal(0, 0.3))));
  const auGain: Record<number, number> = {};
  for (const au of ACTION_UNITS) auGain[au] = Math.exp(rng.normal(0, 0.25));
  const asymmetry = Math.min(0.45, Math.max(-0.45, rng.normal(0, 0.2)));
  const preferredSide = rng.chance(0.5) ? 1 : -1;
  const dialect: Record<string, ActionUnit[]> = {};
  for (const emotion of EMOTIONS_7) {
    const p = EMOTION_PROTOTYPES[emotion];
    const set: ActionUnit[] = [...p.core];
    if (p.alternatives) {
      set.push(...p.alternatives[rng.int(p.alternatives.length)]);
    }
    for (const au of p.optional) if (rng.chance(p.optionalRate)) set.push(au);
    dialect[emotion] = set;
  }
  return { gain, auGain, asymmetry, preferredSide, dialect };
}

function makeSubject(
  seed: number,
  source: string,
  name: string,
  split?: string,
): SyntheticSubject {
  const id = `${source}/${name}`;
  const rng = makeRng(seed, "subject", id);
  const geometry = sampleGeometry(rng);
  const appearance = sampleAppearance(rng);
  const style = sampleStyle(rng);
  const pose = {
    ox: rng.normal(0, 0.015),
    oy: rng.normal(0, 0.015),
    scale: 0.37 * rng.uniform(0.94, 1.05),
    roll: rng.normal(0, 0.03),
  };
  const lightAngle = rng.uniform(0, 2 * Math.PI);
  return {
    id,
    source,
    name,
    ...(split ? { split } : {}),
    geometry,
    appearance,
    style,
    pose,
    lightAngle,
  };
}

const ACTION_UNIT_ORDER = [...ACTION_UNITS];

/**
 * Largest per-side action-unit gain: keeps the warp invertible (the
 * Jacobian of q ↦ q + d(q) stays positive) however the multipliers combine;
 * larger `intensity` values saturate here.
 */
export const MAX_AU_GAIN = 2.5;

const capGain = (g: number): number => Math.min(MAX_AU_GAIN, g);

function activationsFor(
  rng: AleaRng,
  subject: SyntheticSubject,
  emotion: string,
  gain: number,
): AuActivation[] {
  const st = subject.style;
  let set = [...st.dialect[emotion]];
  const proto = EMOTION_PROTOTYPES[emotion];
  // occasionally one non-core unit is not shown in this clip
  const droppable = set.filter((au) => !proto.core.includes(au));
  if (set.length > 1 && droppable.length > 0 && rng.chance(0.15)) {
    const drop = droppable[rng.int(droppable.length)];
    set = set.filter((au) => au !== drop);
  }
  const clipGain = gain * st.gain * rng.uniform(0.6, 1.3);
  const acts: AuActivation[] = [];
  for (const au of set) {
    const g = clipGain * st.auGain[au] * rng.uniform(0.85, 1.15);
    if (proto.laterality === "unilateral") {
      const side = rng.chance(0.85) ? st.preferredSide : -st.preferredSide;
      const weak = g * rng.uniform(0, 0.15);
      acts.push(
        side === -1
          ? { au, left: capGain(g), right: capGain(weak) }
          : { au, left: capGain(weak), right: capGain(g) },
      );
    } else {
      const a = Math.min(
        0.8,
        Math.max(-0.8, st.asymmetry + rng.normal(0, 0.08)),
      );
      acts.push({
        au,
        left: capGain(g * (1 - a)),
        right: capGain(g * (1 + a)),
      });
    }
  }
  // a weak unrelated movement in some clips
  if (rng.chance(0.3)) {
    const others = ACTION_UNIT_ORDER.filter((au) => !set.includes(au));
    const au = others[rng.int(others.length)];
    const g = clipGain * rng.uniform(0.15, 0.4);
    acts.push({ au, left: capGain(g), right: capGain(g) });
  }
  return acts;
}

function planSample(
  seed: number,
  subject: SyntheticSubject,
  clip: string,
  label: string,
  emotionFor: (rng: AleaRng) => string,
  imaging: { noiseSd: number; lightStrength: number; gain: number },
  intensity: number,
): SyntheticSamplePlan {
  const id = `${subject.id}/${clip}`;
  const rng = makeRng(seed, "sample", id);
  const emotion = emotionFor(rng);
  const activations = activationsFor(
    rng,
    subject,
    emotion,
    intensity * imaging.gain,
  );
  const p = subject.pose;
  const pose0: RelativePose = {
    ox: p.ox + rng.normal(0, 0.008),
    oy: p.oy + rng.normal(0, 0.008),
    scale: p.scale * (1 + rng.normal(0, 0.01)),
    roll: p.roll + rng.normal(0, 0.01),
  };
  // small head motion between onset and apex (sub-pixel at 64 px)
  const pose1: RelativePose = {
    ox: pose0.ox + rng.normal(0, 0.0025),
    oy: pose0.oy + rng.normal(0, 0.0025),
    scale: pose0.scale * (1 + rng.normal(0, 0.002)),
    roll: pose0.roll + rng.normal(0, 0.004),
  };
  const record: SampleRecord = {
    id,
    subject: subject.id,
    source: subject.source,
    label,
    ...(subject.split ? { split: subject.split } : {}),
  };
  return {
    record,
    clip,
    emotion,
    activations,
    pose0,
    pose1,
    imaging: {
      lightStrength: imaging.lightStrength + rng.uniform(-0.04, 0.04),
      lightAngle: subject.lightAngle + rng.normal(0, 0.2),
      noiseSd: imaging.noiseSd * rng.uniform(0.8, 1.2),
    },
    subject,
  };
}

function clipName(i: number): string {
  return `clip${String(i + 1).padStart(3, "0")}`;
}

/** Assigns shuffled labels to the subjects' slots; returns [subject index, slot, label]. */
function assignLabels(
  rng: AleaRng,
  counts: readonly number[],
  classes: readonly string[],
  slots: readonly number[],
): [number, number, string][] {
  const labels: string[] = [];
  counts.forEach((c, k) => {
    for (let i = 0; i < c; i++) labels.push(classes[k]);
  });
  const shuffled = rng.shuffle(labels);
  const out: [number, number, string][] = [];
  let n = 0;
  slots.forEach((m, s) => {
    for (let j = 0; j < m; j++) out.push([s, j, shuffled[n++]]);
  });
  return out;
}

/**
 * Plans a synthetic dataset.
 *
 * synthetic-dfme: subjects are split train/testA/testB in proportion to the
 * DFME-public split sizes (1856 : 474 : 299, each split ≥ 1 subject), or,
 * with `testSubjects`, that many subjects go to testA/testB (474 : 299) and
 * the rest to train; every
 * subject has `samplesPerSubject` clips; each split's class counts follow its
 * row of the paper's Table II (each class ≥ 1 when the split has ≥ 7 clips).
 *
 * synthetic-3db: subjects are split 16 : 24 : 28 over `synthetic-smic`,
 * `synthetic-casme2`, `synthetic-samm`; the total `subjects ×
 * samplesPerSubject` is split 164 : 145 : 133 over the sources (at least one
 * clip per subject), and each source's class counts follow its column of
 * Table III. `negative` clips render an emotion drawn from the source's
 * negative mix; `positive` renders happiness.
 */
export function planSyntheticDataset(
  flavour: SyntheticFlavour,
  options: SyntheticOptions,
): SyntheticPlan {
  const { seed, subjects: nSubjects, samplesPerSubject: sps, intensity } =
    options;
  const subjects: SyntheticSubject[] = [];
  const samples: SyntheticSamplePlan[] = [];
  if (flavour === "synthetic-dfme") {
    const splits = Object.keys(DFME_TABLE);
    const sizes = splits.map((s) => DFME_TABLE[s].reduce((a, b) => a + b, 0));
    const nTest = options.testSubjects;
    const splitSizes = nTest === undefined
      ? apportion(nSubjects, sizes, 1)
      : [nSubjects - nTest, ...apportion(nTest, sizes.slice(1), 1)];
    const order = makeRng(seed, "dfme-split").shuffle(
      Array.from({ length: nSubjects }, (_, i) => i),
    );
    const splitOf: string[] = [];
    let k = 0;
    splits.forEach((s, si) => {
      for (let j = 0; j < splitSizes[si]; j++) splitOf[order[k++]] = s;
    });
    for (let i = 0; i < nSubjects; i++) {
      subjects.push(
        makeSubject(
          seed,
          "synthetic-dfme",
          `s${String(i + 1).padStart(3, "0")}`,
          splitOf[i],
        ),
      );
    }
    for (const split of splits) {
      const members = subjects.filter((s) => s.split === split);
      const n = members.length * sps;
      const counts = apportion(n, DFME_TABLE[split], n >= 7 ? 1 : 0);
      const rng = makeRng(seed, "dfme-labels", split);
      for (
        const [s, j, label] of assignLabels(
          rng,
          counts,
          EMOTIONS_7,
          members.map(() => sps),
        )
      ) {
        samples.push(
          planSample(
            seed,
            members[s],
            clipName(j),
            label,
            () => label,
            DFME_IMAGING,
            intensity,
          ),
        );
      }
    }
    samples.sort((a, b) => (a.record.id < b.record.id ? -1 : 1));
    return { flavour, options, classes: EMOTIONS_7, subjects, samples };
  }
  // synthetic-3db
  const srcSubjects = apportion(
    nSubjects,
    COMPOSITE_SOURCES.map((s) => s.subjects),
    1,
  );
  const srcSamples = apportion(
    nSubjects * sps,
    COMPOSITE_SOURCES.map((s) => s.classCounts.reduce((a, b) => a + b, 0)),
  ).map((n, i) => Math.max(n, srcSubjects[i]));
  COMPOSITE_SOURCES.forEach((src, si) => {
    const members: SyntheticSubject[] = [];
    for (let i = 0; i < srcSubjects[si]; i++) {
      members.push(makeSubject(seed, src.name, src.subjectName(i)));
    }
    subjects.push(...members);
    const n = srcSamples[si];
    const rng = makeRng(seed, "3db-labels", src.name);
    const base = Math.floor(n / members.length);
    const extra = new Set(
      rng.shuffle(members.map((_, i) => i)).slice(0, n - base * members.length),
    );
    const slots = members.map((_, i) => base + (extra.has(i) ? 1 : 0));
    const counts = apportion(n, src.classCounts, n >= 3 ? 1 : 0);
    const negNames = Object.keys(src.negativeMix);
    const negWeights = negNames.map((e) => src.negativeMix[e]);
    for (const [s, j, label] of assignLabels(rng, counts, CLASSES_3, slots)) {
      const emotionFor = (r: AleaRng): string =>
        label === "positive"
          ? "happiness"
          : label === "surprise"
          ? "surprise"
          : negNames[r.pick(negWeights)];
      samples.push(
        planSample(
          seed,
          members[s],
          clipName(j),
          label,
          emotionFor,
          src,
          intensity,
        ),
      );
    }
  });
  samples.sort((a, b) => (a.record.id < b.record.id ? -1 : 1));
  return { flavour, options, classes: CLASSES_3, subjects, samples };
}
