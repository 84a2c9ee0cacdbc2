/**
 * Loading the synthetic benchmark as a {@link FlowDataset}: plan, render,
 * TV-L1 onset→apex flow at render size, resize to the requested size, optional
 * optical strain, with an on-disk cache.
 *
 * @module
 */

import { resolveTvl1Options, tvl1Flow, type Tvl1Options } from "../flow/mod.ts";
import { opticalStrain } from "../flow/mod.ts";
import { resizeGrey } from "../image/mod.ts";
import type { DatasetRequest, FlowDataset, FlowSample } from "../types.ts";
import { renderSyntheticClip } from "./clip.ts";
import { FlowCache, hashKey } from "../cache.ts";
import {
  planSyntheticDataset,
  resolveSyntheticOptions,
  type SyntheticFlavour,
  type SyntheticPlan,
  type SyntheticSamplePlan,
} from "./plan.ts";

/** Bumped whenever a change alters generated frames or flows (invalidates caches). */
export const SYNTHETIC_GENERATOR_VERSION = "merba-synthetic-2";

/**
 * The flow input of one rendered clip: TV-L1 (onset → apex) on the frames at
 * `renderSize`, u and v resized to `imageSize` (area averaging when
 * shrinking, bilinear when enlarging) and multiplied by
 * `imageSize / renderSize`; for `uvs` the optical strain of the resized
 * field is the third channel. Returns HWC float32.
 */
export function computeSyntheticFlow(
  sample: SyntheticSamplePlan,
  seed: number,
  renderSize: number,
  imageSize: number,
  channels: "uv" | "uvs",
  tvl1: Partial<Tvl1Options> = {},
): Float32Array {
  const clip = renderSyntheticClip(sample, renderSize, seed);
  const { u, v } = tvl1Flow(
    Float32Array.from(clip.onset),
    Float32Array.from(clip.apex),
    renderSize,
    renderSize,
    tvl1,
  );
  const k = imageSize / renderSize;
  const ru = resizeGrey(
    { width: renderSize, height: renderSize, data: u },
    imageSize,
    imageSize,
  ).data;
  const rv = resizeGrey(
    { width: renderSize, height: renderSize, data: v },
    imageSize,
    imageSize,
  ).data;
  for (let i = 0; i < ru.length; i++) {
    ru[i] *= k;
    rv[i] *= k;
  }
  const c = channels === "uvs" ? 3 : 2;
  const out = new Float32Array(imageSize * imageSize * c);
  const s = c === 3 ? opticalStrain(ru, rv, imageSize, imageSize) : null;
  for (let i = 0; i < ru.length; i++) {
    out[i * c] = ru[i];
    out[i * c + 1] = rv[i];
    if (s) out[i * c + 2] = s[i];
  }
  return out;
}

function checkRequest(req: DatasetRequest): void {
  if (
    !Number.isInteger(req.imageSize) || req.imageSize < 4 ||
    req.imageSize > 1024
  ) {
    throw new Error(
      `${req.name}: imageSize must be an integer in [4, 1024], got ${
        JSON.stringify(req.imageSize)
      }`,
    );
  }
  if (req.channels !== "uv" && req.channels !== "uvs") {
    throw new Error(
      `${req.name}: channels must be "uv" or "uvs", got ${
        JSON.stringify(req.channels)
      }`,
    );
  }
}

/** A one-line description of a plan, for reports. */
export function describePlan(plan: SyntheticPlan): string {
  const o = plan.options;
  const bySplit = new Map<string, number>();
  for (const s of plan.samples) {
    const k = plan.flavour === "synthetic-dfme"
      ? s.record.split!
      : s.record.source;
    bySplit.set(k, (bySplit.get(k) ?? 0) + 1);
  }
  const order = ["train", "testA", "testB"];
  const rank = (k: string) => order.includes(k) ? order.indexOf(k) : 3;
  const parts = [...bySplit]
    .sort((x, y) => rank(x[0]) - rank(y[0]) || (x[0] < y[0] ? -1 : 1))
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  return `${plan.flavour}: procedurally rendered micro-expression test-bed ` +
    `(not real data; seed ${o.seed}, ${plan.subjects.length} subjects, ` +
    `${plan.samples.length} clips: ${parts}; rendered at ${o.renderSize} px, ` +
    `TV-L1 flow)`;
}

/**
 * Loads `synthetic-dfme` (7 classes, fixed subject-disjoint train/testA/testB
 * split) or `synthetic-3db` (3-class composite of `synthetic-smic`,
 * `synthetic-casme2`, `synthetic-samm`, for LOSO).
 *
 * `req.options` (all optional, validated; unknown names are errors): `seed`
 * (integer, default 1), `subjects` (default 24 / 17), `samplesPerSubject`
 * (default 8 / 10), `renderSize` (default 64), `intensity` (AU gain
 * multiplier, default 1), `tvl1` (TV-L1 option overrides; default OpenCV's),
 * `testSubjects` (synthetic-dfme: how many of the subjects form Test A/B;
 * default: DFME's proportions). The defaults give 192 / 170 clips, which with TV-L1 at 64 px (OpenCV's
 * default options) took about 6 s each the first time on this loaded 2-core
 * machine, and 0.02 s from the cache. `req.root` is not used (nothing is
 * read from disk but the cache).
 *
 * Flows are cached under `req.cacheDir` (default `.cache/flow`) in
 * `synthetic/<sha256>.flow`, keyed by (generator version, flavour, resolved
 * options, sample id, imageSize, channels, resolved TV-L1 options).
 * Same request ⇒ bit-identical flows, from cache or not.
 *
 * This is a test-bed for the toolkit, not a substitute for real data.
 *
 * @param req the dataset request (`name`, `imageSize`, `channels`, `cacheDir`, `options`).
 * @param onProgress called after each sample with (done, total).
 */
export async function loadSyntheticDataset(
  req: DatasetRequest,
  onProgress?: (done: number, total: number) => void,
): Promise<FlowDataset> {
  const options = resolveSyntheticOptions(req.name, req.options ?? {});
  checkRequest(req);
  const flavour = req.name as SyntheticFlavour;
  const tvl1 = resolveTvl1Options(options.tvl1 as Partial<Tvl1Options>);
  const plan = planSyntheticDataset(flavour, options);
  const cache = new FlowCache(req.cacheDir ?? ".cache/flow", "synthetic");
  const c = req.channels === "uvs" ? 3 : 2;
  const n = req.imageSize;
  const samples: FlowSample[] = [];
  let done = 0;
  for (const sp of plan.samples) {
    const key = await hashKey({
      version: SYNTHETIC_GENERATOR_VERSION,
      flavour,
      options: { ...options, tvl1: undefined },
      id: sp.record.id,
      imageSize: n,
      channels: req.channels,
      tvl1,
    });
    const cached = await cache.get(key);
    let data = cached && cached.height === n && cached.width === n &&
        cached.channels === c
      ? cached.data
      : null;
    if (!data) {
      data = computeSyntheticFlow(
        sp,
        options.seed,
        options.renderSize,
        n,
        req.channels,
        tvl1,
      );
      await cache.put(key, { height: n, width: n, channels: c, data });
    }
    samples.push({ ...sp.record, height: n, width: n, channels: c, data });
    onProgress?.(++done, plan.samples.length);
  }
  return {
    name: flavour,
    classes: plan.classes,
    samples,
    description: describePlan(plan),
  };
}
