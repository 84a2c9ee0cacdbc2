/**
 * The preprocessing pipeline of real corpora: SampleRecord → decode onset
 * and apex frames → face alignment and crop (or centre crop with
 * `align: false`) → resize → TV-L1 flow onset→apex (+ optional optical
 * strain) → FlowSample (HWC float32: u, v[, strain]).
 *
 * Steps, for a record with frames (onset, apex):
 * 1. decode both frames to RGB (`data/image`);
 * 2. `align: true` (default): face-api landmarks on the onset frame, roll
 *    correction by the eye centres, square landmark crop with `margin` and
 *    `top`, the same crop on the apex (`data/align`); `align: false`: the
 *    central square of the frame. Both are resampled to `flowSize`×`flowSize`
 *    grey (area averaging when shrinking);
 * 3. TV-L1 (`data/flow`, OpenCV DualTVL1 defaults unless `tvl1` overrides)
 *    from onset to apex at `flowSize`;
 * 4. when `flowSize ≠ imageSize`, u and v are resized to `imageSize` and
 *    multiplied by `imageSize / flowSize`;
 * 5. `channels: "uvs"` appends the optical strain of the final field.
 *
 * {@link preprocessRecords} adds the disk cache (`data/cache.ts`), a
 * `cli-progress` bar or progress callback, and parallelism: the records not
 * in the cache are processed by a pool of Deno Workers (default: one per
 * core), each started on `data/pipeline_worker.ts` (this module installs
 * no Worker handler of its own, so importing it inside another Worker is
 * harmless); results are placed by record index,
 * and every step is deterministic, so the output is bit-identical to the
 * serial run (`workers: 0`, in the calling isolate). Running in Workers also
 * keeps face-api's TF.js backend switch (to `wasm`) away from model code in
 * the calling isolate.
 *
 * @module
 */
import cliProgress from "cli-progress";
import type { FlowSample, SampleRecord } from "./types.ts";
import { readRgbImage } from "./image/image.ts";
import { resizeGrey } from "./image/resize.ts";
import {
  alignPair,
  centreCropPair,
  createFaceApiDetector,
  type FaceDetector,
} from "./align/face.ts";
import {
  opticalStrain,
  resolveTvl1Options,
  tvl1Flow,
  type Tvl1Options,
} from "./flow/mod.ts";
import { FlowCache, sampleCacheKey } from "./cache.ts";

/** What a flow tensor depends on (also part of the cache key). */
export interface PreprocessOptions {
  /** output flow side in pixels (square). */
  imageSize: number;
  /** `uv`, or `uvs` with optical strain as a third channel. */
  channels: "uv" | "uvs";
  /** face alignment with face-api (default true); false = centre crop. */
  align?: boolean;
  /** alignment border on each side, fraction of the landmark box (default 0.1). */
  margin?: number;
  /** extra alignment border above (forehead), fraction (default 0.1). */
  top?: number;
  /** face-api minimum detection score (default 0.3). */
  minConfidence?: number;
  /** side at which TV-L1 runs (default imageSize). */
  flowSize?: number;
  /** TV-L1 overrides of OpenCV's defaults. */
  tvl1?: Partial<Tvl1Options>;
}

/** {@link PreprocessOptions} plus caching, parallelism and progress. */
export interface PipelineOptions extends PreprocessOptions {
  /** cache root (default `.cache/flow`); `null` disables the cache. */
  cacheDir?: string | null;
  /** sub-folder of the cache root (default `corpus`), e.g. the dataset name. */
  cacheNamespace?: string;
  /** Worker count (default: number of cores); 0 = run in this isolate. */
  workers?: number;
  /** called after each sample (cached or computed). */
  onProgress?: (done: number, total: number) => void;
  /** draw a `cli-progress` bar on stderr (default false). */
  progressBar?: boolean;
}

/** Fully resolved {@link PreprocessOptions} (defaults filled, validated). */
export interface ResolvedPreprocess {
  /** output side. */
  imageSize: number;
  /** channel set. */
  channels: "uv" | "uvs";
  /** face alignment on/off. */
  align: boolean;
  /** alignment margin. */
  margin: number;
  /** alignment top border. */
  top: number;
  /** face-api detection threshold. */
  minConfidence: number;
  /** TV-L1 side. */
  flowSize: number;
  /** complete TV-L1 options (without an initial flow). */
  tvl1: Omit<Tvl1Options, "initialFlow">;
}

function sizeOption(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 8 || v > 2048) {
    throw new Error(
      `${name} must be an integer in [8, 2048], got ${String(v)}`,
    );
  }
  return v;
}

function fraction(
  name: string,
  v: unknown,
  dflt: number,
  lo = 0,
  hi = 1,
): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !(v >= lo && v <= hi)) {
    throw new Error(
      `${name} must be a number in [${lo}, ${hi}], got ${String(v)}`,
    );
  }
  return v;
}

/** Fills defaults and validates; errors name the option and value. */
export function resolvePreprocessOptions(
  o: PreprocessOptions,
): ResolvedPreprocess {
  const imageSize = sizeOption("imageSize", o.imageSize);
  if (o.channels !== "uv" && o.channels !== "uvs") {
    throw new Error(
      `channels must be "uv" or "uvs", got ${String(o.channels)}`,
    );
  }
  if (o.align !== undefined && typeof o.align !== "boolean") {
    throw new Error(`align must be true or false, got ${String(o.align)}`);
  }
  if (o.tvl1?.useInitialFlow || o.tvl1?.initialFlow) {
    throw new Error(
      "tvl1.useInitialFlow/initialFlow are not supported by the pipeline",
    );
  }
  const { initialFlow: _unused, ...tvl1 } = resolveTvl1Options(o.tvl1 ?? {});
  return {
    imageSize,
    channels: o.channels,
    align: o.align ?? true,
    margin: fraction("margin", o.margin, 0.1),
    top: fraction("top", o.top, 0.1),
    minConfidence: fraction("minConfidence", o.minConfidence, 0.3, 0.01, 0.99),
    flowSize: o.flowSize === undefined
      ? imageSize
      : sizeOption("flowSize", o.flowSize),
    tvl1,
  };
}

/** The frames of a record, or an error naming the record. */
function framesOf(r: SampleRecord): { onset: string; apex: string } {
  if (!r.frames?.onset || !r.frames?.apex) {
    throw new Error(`sample ${r.id}: no onset/apex frame files`);
  }
  return r.frames;
}

/**
 * Runs the whole per-sample pipeline in this isolate. `detector` is needed
 * when aligning (created with {@link createFaceApiDetector} if omitted).
 */
export async function computeFlowSample(
  record: SampleRecord,
  options: PreprocessOptions | ResolvedPreprocess,
  detector?: FaceDetector,
): Promise<FlowSample> {
  const o = resolvePreprocessOptions(options);
  const f = framesOf(record);
  const names = { onset: f.onset, apex: f.apex };
  let pair;
  try {
    const on = await readRgbImage(f.onset), ap = await readRgbImage(f.apex);
    pair = o.align
      ? await alignPair(
        on,
        ap,
        detector ??
          await createFaceApiDetector({ minConfidence: o.minConfidence }),
        { size: o.flowSize, margin: o.margin, top: o.top },
        names,
      )
      : centreCropPair(on, ap, o.flowSize, names);
  } catch (e) {
    throw new Error(
      `sample ${record.id}: ${e instanceof Error ? e.message : e}`,
    );
  }
  const fs = o.flowSize, n = o.imageSize;
  let { u, v } = tvl1Flow(pair.onset.data, pair.apex.data, fs, fs, o.tvl1);
  if (fs !== n) {
    const k = n / fs;
    u = resizeGrey({ width: fs, height: fs, data: u }, n, n).data;
    v = resizeGrey({ width: fs, height: fs, data: v }, n, n).data;
    for (let i = 0; i < u.length; i++) (u[i] *= k), (v[i] *= k);
  }
  const c = o.channels === "uvs" ? 3 : 2;
  const s = c === 3 ? opticalStrain(u, v, n, n) : null;
  const data = new Float32Array(n * n * c);
  for (let i = 0; i < n * n; i++) {
    data[i * c] = u[i];
    data[i * c + 1] = v[i];
    if (s) data[i * c + 2] = s[i];
  }
  return toFlowSample(record, n, c, data);
}

function toFlowSample(
  r: SampleRecord,
  size: number,
  channels: number,
  data: Float32Array,
): FlowSample {
  return {
    id: r.id,
    subject: r.subject,
    source: r.source,
    label: r.label,
    ...(r.split !== undefined ? { split: r.split } : {}),
    ...(r.frames ? { frames: { ...r.frames } } : {}),
    height: size,
    width: size,
    channels,
    data,
  };
}

/** Counts of a {@link preprocessRecords} run. */
export interface PipelineStats {
  /** samples read from the cache. */
  cached: number;
  /** samples computed. */
  computed: number;
  /** workers used (0 = in this isolate). */
  workers: number;
}

interface Job {
  index: number;
  record: SampleRecord;
}

type WorkerReply =
  | { type: "done"; index: number; data: Float32Array }
  | { type: "error"; index: number; message: string };

function defaultWorkers(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

async function runInWorkers(
  jobs: Job[],
  o: ResolvedPreprocess,
  count: number,
  onDone: (index: number, data: Float32Array) => Promise<void>,
): Promise<void> {
  const workers: Worker[] = [];
  let next = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let finished = 0, failed = false;
      const feed = (w: Worker) => {
        if (next < jobs.length) {
          w.postMessage({ type: "job", job: jobs[next++] });
        }
      };
      for (let k = 0; k < count; k++) {
        const w = new Worker(
          new URL("./pipeline_worker.ts", import.meta.url).href,
          { type: "module" },
        );
        workers.push(w);
        w.onmessage = (ev: MessageEvent<WorkerReply>) => {
          if (failed) return;
          const m = ev.data;
          if (m.type === "error") {
            failed = true;
            reject(new Error(m.message));
            return;
          }
          onDone(m.index, m.data).then(() => {
            finished++;
            if (finished === jobs.length) resolve();
            else feed(w);
          }, (e) => {
            failed = true;
            reject(e);
          });
        };
        w.onerror = (ev) => {
          ev.preventDefault();
          if (!failed) {
            failed = true;
            reject(new Error(`preprocessing worker failed: ${ev.message}`));
          }
        };
        w.postMessage({ type: "init", options: o });
        feed(w);
      }
    });
  } finally {
    for (const w of workers) w.terminate();
  }
}

/**
 * Preprocesses records into FlowSamples (same order as `records`), using the
 * cache and a Worker pool; see the module doc.
 */
export async function preprocessRecords(
  records: readonly SampleRecord[],
  options: PipelineOptions,
): Promise<{ samples: FlowSample[]; stats: PipelineStats }> {
  const o = resolvePreprocessOptions(options);
  const workers = options.workers ?? defaultWorkers();
  if (!Number.isInteger(workers) || workers < 0) {
    throw new Error(`workers must be an integer ≥ 0, got ${String(workers)}`);
  }
  const cache = options.cacheDir === null ? null : new FlowCache(
    options.cacheDir ?? ".cache/flow",
    options.cacheNamespace ?? "corpus",
  );
  const total = records.length;
  const out: (FlowSample | undefined)[] = new Array(total);
  const keys: string[] = new Array(total);
  const seen = new Set<string>();
  let done = 0;
  const bar = options.progressBar
    ? new cliProgress.SingleBar(
      {
        format: "preprocess [{bar}] {value}/{total} {eta_formatted} left",
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    )
    : null;
  bar?.start(total, 0);
  const tick = () => {
    done++;
    bar?.update(done);
    options.onProgress?.(done, total);
  };
  const jobs: Job[] = [];
  let cached = 0;
  try {
    for (let i = 0; i < total; i++) {
      const r = records[i];
      if (seen.has(r.id)) throw new Error(`duplicate sample id ${r.id}`);
      seen.add(r.id);
      const f = framesOf(r);
      if (cache) {
        keys[i] = await sampleCacheKey(r.id, [f.onset, f.apex], o);
        const hit = await cache.get(keys[i]);
        const c = o.channels === "uvs" ? 3 : 2;
        if (
          hit && hit.height === o.imageSize && hit.width === o.imageSize &&
          hit.channels === c
        ) {
          out[i] = toFlowSample(r, o.imageSize, c, hit.data);
          cached++;
          tick();
          continue;
        }
      }
      jobs.push({ index: i, record: r });
    }
    const store = async (index: number, data: Float32Array) => {
      const s = toFlowSample(
        records[index],
        o.imageSize,
        o.channels === "uvs" ? 3 : 2,
        data,
      );
      if (cache) {
        await cache.put(keys[index], {
          height: s.height,
          width: s.width,
          channels: s.channels,
          data,
        });
      }
      out[index] = s;
      tick();
    };
    const used = Math.min(workers, jobs.length);
    if (used === 0) {
      let detector: FaceDetector | undefined;
      for (const j of jobs) {
        if (o.align && !detector) {
          detector = await createFaceApiDetector({
            minConfidence: o.minConfidence,
          });
        }
        const s = await computeFlowSample(j.record, o, detector);
        await store(j.index, s.data);
      }
    } else {
      await runInWorkers(jobs, o, used, store);
    }
    return {
      samples: out as FlowSample[],
      stats: { cached, computed: jobs.length, workers: used },
    };
  } finally {
    bar?.stop();
  }
}
