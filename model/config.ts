/**
 * Model configurations: the MambaVision-B and MERba presets, validation with
 * errors that name the offending field, and the geometry (feature-map size
 * and window of every stage) derived from a configuration.
 *
 * @module
 */
import { isScanName, SCAN_NAMES } from "./scan_order.ts";
import {
  DT_INITS,
  EXTENTS,
  HEAD_KINDS,
  type MixerConfig,
  MODEL_FAMILIES,
  type ModelConfig,
  type ModelOverrides,
} from "./types.ts";

/** A configuration is invalid; the message names the field path and value. */
export class ModelConfigError extends Error {
  /** the offending field path, e.g. `windowSize[2]`. */
  readonly field: string;
  /** Creates the error for `field` with `message` (prefixed by the field). */
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "ModelConfigError";
    this.field = field;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function mergeRecords(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(base[k])
      ? mergeRecords(base[k] as Record<string, unknown>, v)
      : structuredClone(v);
  }
  return out;
}

/**
 * `config` with `overrides` merged in: objects (the mixer) key by key,
 * everything else — lists included — replaced; an `undefined` value leaves
 * the field as it is. Neither argument is changed, nor shared: the result
 * holds copies of the overrides' lists.
 */
export function mergeModelConfig(
  config: ModelConfig,
  overrides: ModelOverrides = {},
): ModelConfig {
  return mergeRecords(
    config as unknown as Record<string, unknown>,
    overrides as Record<string, unknown>,
  ) as unknown as ModelConfig;
}

/**
 * MambaVision-B (NVlabs `mamba_vision_B`) with 2 input channels (u, v flow):
 * dims 128/256/512/1024, depths [3, 3, 10, 5], heads [2, 4, 8, 16], windows
 * [8, 8, 14, 7], MLP ratio 4, layer scale 1e-5, drop path 0.3, stem 64,
 * 224×224, linear head over 7 classes. `overrides` are merged in deeply
 * ({@link mergeModelConfig}).
 */
export function mambaVisionB(overrides: ModelOverrides = {}): ModelConfig {
  return mergeModelConfig({
    family: "mambavision",
    inputSize: 224,
    inChannels: 2,
    stemDim: 64,
    dims: [128, 256, 512, 1024],
    depths: [3, 3, 10, 5],
    attentionDepths: [0, 0, 0, 0],
    heads: [2, 4, 8, 16],
    windowSize: [8, 8, 14, 7],
    convStages: 2,
    mlpRatio: 4,
    scans: ["h"],
    extractor: "local",
    attention: "local",
    head: "linear",
    numClasses: 7,
    dropout: 0,
    dropPath: 0.3,
    layerScale: 1e-5,
    mixer: { dState: 8, dConv: 3, expand: 1, dtBiasTwice: true },
  }, overrides);
}

/**
 * MERba (paper defaults where published). The paper's Table I (per-stage
 * depths) did not survive, so the depths are our documented choice: each
 * stage keeps MambaVision-B's block count — stage 1 (FFE) 3 conv blocks;
 * LGFI stages 2–4 use [1, 8, 3] local-extractor blocks followed by 2 global
 * MHSA+MLP blocks each (3, 10, 5 blocks in all, as MambaVision-B's stages).
 * Widths 128/256/512/1024, heads [2, 4, 8, 16], window 7 in every LGFI
 * stage (at 224×224 the maps are 28, 14, 7: stage 4 is one window), scans
 * h, v, hz, vz, DGCM head, dropout 0.1 before the head, drop path 0.3,
 * layer scale 1e-5. `overrides` are merged in deeply
 * ({@link mergeModelConfig}).
 */
export function merbaBase(overrides: ModelOverrides = {}): ModelConfig {
  return mergeModelConfig({
    family: "merba",
    inputSize: 224,
    inChannels: 2,
    stemDim: 64,
    dims: [128, 256, 512, 1024],
    depths: [3, 1, 8, 3],
    attentionDepths: [0, 2, 2, 2],
    heads: [2, 4, 8, 16],
    windowSize: 7,
    convStages: 1,
    mlpRatio: 4,
    scans: ["h", "v", "hz", "vz"],
    extractor: "local",
    attention: "global",
    head: "dgcm",
    numClasses: 7,
    dropout: 0.1,
    dropPath: 0.3,
    layerScale: 1e-5,
    mixer: { dState: 8, dConv: 3, expand: 1, dtBiasTwice: true },
  }, overrides);
}

/** Output size of a 3×3, stride-2, padding-1 convolution. */
export function halve(n: number): number {
  return Math.floor((n - 1) / 2) + 1;
}

/** Geometry of one stage. */
export interface StageGeometry {
  /** feature-map height inside the stage. */
  height: number;
  /** feature-map width inside the stage. */
  width: number;
  /** channel width. */
  dim: number;
  /** window size of the stage. */
  window: number;
  /** `conv` stages are convolutional; `mixer` stages are token stages. */
  kind: "conv" | "mixer";
}

/** The input [height, width] of a configuration. */
export function inputHW(config: ModelConfig): [number, number] {
  return typeof config.inputSize === "number"
    ? [config.inputSize, config.inputSize]
    : [config.inputSize[0], config.inputSize[1]];
}

/** Window size of stage `i`. */
export function stageWindow(config: ModelConfig, i: number): number {
  return typeof config.windowSize === "number"
    ? config.windowSize
    : config.windowSize[i];
}

/** Per-stage geometry (maps shrink ×2 at the patch embed twice, then per downsample). */
export function stageGeometry(config: ModelConfig): StageGeometry[] {
  let [h, w] = inputHW(config);
  h = halve(halve(h));
  w = halve(halve(w));
  const out: StageGeometry[] = [];
  for (let i = 0; i < config.dims.length; i++) {
    if (i > 0) {
      h = halve(h);
      w = halve(w);
    }
    out.push({
      height: h,
      width: w,
      dim: config.dims[i],
      window: stageWindow(config, i),
      kind: i < config.convStages ? "conv" : "mixer",
    });
  }
  return out;
}

/**
 * MambaVision's placement of attention blocks in a stage of `depth` blocks:
 * `range(depth//2+1, depth)` when depth is odd, else `range(depth//2, depth)`.
 */
export function transformerBlocks(depth: number): Set<number> {
  const start = depth % 2 !== 0 ? Math.floor(depth / 2) + 1 : depth / 2;
  const s = new Set<number>();
  for (let i = start; i < depth; i++) s.add(i);
  return s;
}

/**
 * Every field of a {@link ModelConfig}, in declaration order: the type makes
 * the compiler check that the list is exactly the interface's fields.
 */
const CONFIG_FIELDS: Record<keyof ModelConfig, true> = {
  family: true,
  inputSize: true,
  inChannels: true,
  stemDim: true,
  dims: true,
  depths: true,
  attentionDepths: true,
  heads: true,
  windowSize: true,
  convStages: true,
  mlpRatio: true,
  scans: true,
  extractor: true,
  attention: true,
  head: true,
  numClasses: true,
  dropout: true,
  dropPath: true,
  layerScale: true,
  mixer: true,
};
const KNOWN_FIELDS = new Set(Object.keys(CONFIG_FIELDS));

/** Every field of a {@link MixerConfig} (checked complete by the type). */
const MIXER_FIELDS: Record<keyof MixerConfig, true> = {
  dState: true,
  dConv: true,
  expand: true,
  dtBiasTwice: true,
  dtInit: true,
};
const KNOWN_MIXER_FIELDS = Object.keys(MIXER_FIELDS);

function fmt(v: unknown): string {
  return typeof v === "string"
    ? JSON.stringify(v)
    : JSON.stringify(v) ?? String(v);
}

function posInt(field: string, v: unknown, min = 1): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new ModelConfigError(
      field,
      `expected an integer ≥ ${min}, got ${fmt(v)}`,
    );
  }
  return v;
}

function oneOf<T extends string>(
  field: string,
  v: unknown,
  options: readonly T[],
): T {
  if (typeof v !== "string" || !(options as readonly string[]).includes(v)) {
    throw new ModelConfigError(
      field,
      `expected one of ${options.map((o) => `"${o}"`).join(", ")}, got ${
        fmt(v)
      }`,
    );
  }
  return v as T;
}

function intArray(
  field: string,
  v: unknown,
  length: number,
  min: number,
): number[] {
  if (!Array.isArray(v)) {
    throw new ModelConfigError(field, `expected an array, got ${fmt(v)}`);
  }
  if (v.length !== length) {
    throw new ModelConfigError(
      field,
      `expected ${length} entries (one per stage, as dims), got ${v.length}`,
    );
  }
  return v.map((x, i) => posInt(`${field}[${i}]`, x, min));
}

function rate(field: string, v: unknown): number {
  if (typeof v !== "number" || !(v >= 0 && v < 1)) {
    throw new ModelConfigError(
      field,
      `expected a number in [0, 1), got ${fmt(v)}`,
    );
  }
  return v;
}

/**
 * Checks a configuration; throws {@link ModelConfigError} naming the field
 * path and the bad value. MERba's windows must tile each LGFI map exactly
 * (where windows are used); MambaVision pads like the reference.
 */
export function validateModelConfig(config: ModelConfig): void {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new ModelConfigError(
      "config",
      `expected an object, got ${fmt(config)}`,
    );
  }
  for (const k of Object.keys(config)) {
    if (!KNOWN_FIELDS.has(k)) {
      throw new ModelConfigError(k, "unknown field");
    }
  }
  for (const k of KNOWN_FIELDS) {
    if (!(k in config)) throw new ModelConfigError(k, "missing field");
  }
  oneOf("family", config.family, MODEL_FAMILIES);
  if (typeof config.inputSize === "number") {
    posInt("inputSize", config.inputSize);
  } else if (Array.isArray(config.inputSize) && config.inputSize.length === 2) {
    config.inputSize.forEach((v, i) => posInt(`inputSize[${i}]`, v));
  } else {
    throw new ModelConfigError(
      "inputSize",
      `expected a positive integer or [height, width], got ${
        fmt(config.inputSize)
      }`,
    );
  }
  posInt("inChannels", config.inChannels);
  posInt("stemDim", config.stemDim);
  if (!Array.isArray(config.dims) || config.dims.length < 1) {
    throw new ModelConfigError(
      "dims",
      `expected a non-empty array, got ${fmt(config.dims)}`,
    );
  }
  const n = config.dims.length;
  const dims = intArray("dims", config.dims, n, 1);
  intArray("depths", config.depths, n, 0);
  const attn = intArray("attentionDepths", config.attentionDepths, n, 0);
  const heads = intArray("heads", config.heads, n, 1);
  if (typeof config.windowSize === "number") {
    posInt("windowSize", config.windowSize);
  } else {
    intArray("windowSize", config.windowSize, n, 1);
  }
  const convStages = posInt("convStages", config.convStages, 0);
  if (convStages > n) {
    throw new ModelConfigError(
      "convStages",
      `expected at most ${n} (the number of stages), got ${convStages}`,
    );
  }
  if (typeof config.mlpRatio !== "number" || !(config.mlpRatio > 0)) {
    throw new ModelConfigError(
      "mlpRatio",
      `expected a positive number, got ${fmt(config.mlpRatio)}`,
    );
  }
  if (!Array.isArray(config.scans) || config.scans.length === 0) {
    throw new ModelConfigError(
      "scans",
      `expected a non-empty array of scan names, got ${fmt(config.scans)}`,
    );
  }
  const seen = new Set<string>();
  config.scans.forEach((s, i) => {
    if (!isScanName(s)) {
      throw new ModelConfigError(
        `scans[${i}]`,
        `unknown scan kind ${fmt(s)}; expected one of ${SCAN_NAMES.join(", ")}`,
      );
    }
    if (seen.has(s)) {
      throw new ModelConfigError(`scans[${i}]`, `duplicate scan ${fmt(s)}`);
    }
    seen.add(s);
  });
  oneOf("extractor", config.extractor, EXTENTS);
  oneOf("attention", config.attention, EXTENTS);
  oneOf("head", config.head, HEAD_KINDS);
  posInt("numClasses", config.numClasses);
  rate("dropout", config.dropout);
  rate("dropPath", config.dropPath);
  if (
    config.layerScale !== null &&
    (typeof config.layerScale !== "number" || !(config.layerScale > 0))
  ) {
    throw new ModelConfigError(
      "layerScale",
      `expected null or a positive number, got ${fmt(config.layerScale)}`,
    );
  }
  const m = config.mixer;
  if (typeof m !== "object" || m === null) {
    throw new ModelConfigError("mixer", `expected an object, got ${fmt(m)}`);
  }
  for (const k of Object.keys(m)) {
    if (!KNOWN_MIXER_FIELDS.includes(k)) {
      throw new ModelConfigError(`mixer.${k}`, "unknown field");
    }
  }
  posInt("mixer.dState", m.dState);
  posInt("mixer.dConv", m.dConv);
  posInt("mixer.expand", m.expand);
  if (typeof m.dtBiasTwice !== "boolean") {
    throw new ModelConfigError(
      "mixer.dtBiasTwice",
      `expected a boolean, got ${fmt(m.dtBiasTwice)}`,
    );
  }
  if (m.dtInit !== undefined) {
    oneOf("mixer.dtInit", m.dtInit, DT_INITS);
  }

  const geo = stageGeometry(config);
  for (let i = 0; i < n; i++) {
    if (geo[i].kind === "conv") {
      if (attn[i] !== 0) {
        throw new ModelConfigError(
          `attentionDepths[${i}]`,
          `stage ${i + 1} is convolutional and has no attention blocks, got ${
            attn[i]
          }`,
        );
      }
      continue;
    }
    if (dims[i] % heads[i] !== 0) {
      throw new ModelConfigError(
        `heads[${i}]`,
        `expected a head count dividing dims[${i}] = ${dims[i]}, got ${
          heads[i]
        }`,
      );
    }
    if ((m.expand * dims[i]) % 2 !== 0) {
      throw new ModelConfigError(
        `dims[${i}]`,
        `mixer.expand·dims[${i}] must be even (split into x and z), got ${
          dims[i]
        }`,
      );
    }
    if (config.family === "mambavision" && attn[i] !== 0) {
      throw new ModelConfigError(
        `attentionDepths[${i}]`,
        `MambaVision places attention inside depths (set 0), got ${attn[i]}`,
      );
    }
    const usesWindows = config.family === "mambavision" ||
      config.extractor === "local" || config.attention === "local";
    if (config.family === "merba" && usesWindows) {
      const { height, width, window } = geo[i];
      if (height % window !== 0 || width % window !== 0) {
        const field = typeof config.windowSize === "number"
          ? "windowSize"
          : `windowSize[${i}]`;
        throw new ModelConfigError(
          field,
          `expected a window that tiles the ${height}×${width} map, got ${window}`,
        );
      }
    }
  }
}
