/**
 * The dataset registry: one entry per dataset name with its facts (kind,
 * classes, protocol, description: {@link datasetInfo}) and its loader, and
 * one entry point, {@link loadFlowDataset}, that turns a
 * {@link DatasetRequest} into a {@link FlowDataset}. Loaders import their
 * code on first use, so asking for the facts stays light.
 *
 * - `synthetic-dfme`, `synthetic-3db` → the built-in synthetic benchmark
 *   (`data/synthetic`), generated in memory.
 * - `dfme` → DFME adapter, 7 classes (EMOTIONS_7), fixed splits.
 * - `megc2019` → MEGC2019 composite (3DB), 3 classes (CLASSES_3).
 * - `casme2`, `samm`, `smic` → one corpus on its own, 3 classes with the
 *   MEGC2019 mapping (`data/adapters/labels.ts`); emotions the protocol
 *   excludes (e.g. CASME II `others`) are left out and counted in the
 *   description.
 *
 * Real corpora need `req.root` (see `data/adapters/mod.ts` for each expected
 * layout) and go through the preprocessing pipeline (`data/pipeline.ts`) with
 * its disk cache under `req.cacheDir` (default `.cache/flow`, one
 * sub-folder per dataset). `req.options` for real corpora: `align`
 * (default true), `margin`, `top`, `minConfidence`, `flowSize`, `tvl1`
 * (TV-L1 overrides), `annotations` (annotation file path), `framesDir`
 * (CASME II / SAMM frame folder name), `apexMethod` (`difference` or
 * `tvl1`: how unannotated apexes, e.g. all of SMIC-HS, are estimated).
 *
 * @module
 */
import type { DatasetRequest, FlowDataset, SampleRecord } from "./types.ts";
import { CLASSES_3, EMOTIONS_7 } from "./types.ts";
import type { ApexMethod, CorpusRecord } from "./adapters/mod.ts";
import type { PipelineOptions } from "./pipeline.ts";
import type { Tvl1Options } from "./flow/mod.ts";

/** What the registry knows about a dataset name. */
export interface DatasetInfo {
  /** the name used in {@link DatasetRequest.name}. */
  name: string;
  /** `synthetic` (generated) or `corpus` (read from `root`). */
  kind: "synthetic" | "corpus";
  /** class list of the loaded dataset. */
  classes: readonly string[];
  /** protocol the dataset is meant for. */
  protocol: "fixed-split" | "loso";
  /** one line on what it is. */
  description: string;
}

/** What a corpus reader gets besides the root. */
interface ReadOptions {
  onApexEstimated: (id: string) => void;
  apexMethod?: ApexMethod;
  annotations?: string;
  framesDir?: string;
}

/**
 * A registry entry: the facts ({@link DatasetInfo}) and how to load it. The
 * loaders import their code on first use, so reading the facts stays light.
 */
interface DatasetEntry extends DatasetInfo {
  /** a corpus: reads its annotations under `root`. */
  read?: (root: string, o: ReadOptions) => Promise<CorpusRecord[]>;
  /**
   * a corpus labelled with emotions: mapped to the MEGC2019 classes (the
   * protocol's excluded emotions are left out).
   */
  megc2019Mapping?: "casme2" | "samm" | "smic";
}

const adapters = () => import("./adapters/mod.ts");

const DATASETS: readonly DatasetEntry[] = [
  {
    name: "synthetic-dfme",
    kind: "synthetic",
    classes: EMOTIONS_7,
    protocol: "fixed-split",
    description:
      "built-in synthetic DFME-like benchmark (7 classes, train/testA/testB)",
  },
  {
    name: "synthetic-3db",
    kind: "synthetic",
    classes: CLASSES_3,
    protocol: "loso",
    description:
      "built-in synthetic MEGC2019-like composite (3 classes, 3 sources)",
  },
  {
    name: "dfme",
    kind: "corpus",
    classes: EMOTIONS_7,
    protocol: "fixed-split",
    description: "DFME (7 classes, subject-disjoint train/testA/testB)",
    read: async (root, o) =>
      (await adapters()).loadDfme(root, {
        onApexEstimated: o.onApexEstimated,
        apexMethod: o.apexMethod,
      }),
  },
  {
    name: "megc2019",
    kind: "corpus",
    classes: CLASSES_3,
    protocol: "loso",
    description:
      "MEGC2019 composite 3DB: SMIC-HS + CASME II + SAMM (3 classes)",
    read: async (root, o) =>
      (await adapters()).loadMegc2019(root, {
        onApexEstimated: o.onApexEstimated,
        apexMethod: o.apexMethod,
        annotations: o.annotations,
      }),
  },
  {
    name: "casme2",
    kind: "corpus",
    classes: CLASSES_3,
    protocol: "loso",
    description: "CASME II with the MEGC2019 3-class mapping",
    read: async (root, o) => (await adapters()).loadCasme2(root, o),
    megc2019Mapping: "casme2",
  },
  {
    name: "samm",
    kind: "corpus",
    classes: CLASSES_3,
    protocol: "loso",
    description: "SAMM with the MEGC2019 3-class mapping",
    read: async (root, o) => (await adapters()).loadSamm(root, o),
    megc2019Mapping: "samm",
  },
  {
    name: "smic",
    kind: "corpus",
    classes: CLASSES_3,
    protocol: "loso",
    description: "SMIC-HS (3 classes, apex estimated)",
    read: async (root, o) =>
      (await adapters()).loadSmic(root, {
        onApexEstimated: o.onApexEstimated,
        apexMethod: o.apexMethod,
      }),
    megc2019Mapping: "smic",
  },
];

function facts(d: DatasetEntry): DatasetInfo {
  return {
    name: d.name,
    kind: d.kind,
    classes: d.classes,
    protocol: d.protocol,
    description: d.description,
  };
}

function entry(name: string): DatasetEntry {
  const d = DATASETS.find((x) => x.name === name);
  if (!d) {
    throw new Error(
      `unknown dataset "${name}" (known: ${
        DATASETS.map((x) => x.name).join(", ")
      })`,
    );
  }
  return d;
}

/** All dataset names the registry can load, with their class lists. */
export function listDatasets(): DatasetInfo[] {
  return DATASETS.map(facts);
}

/** The registry entry for `name`; errors list the known names. */
export function datasetInfo(name: string): DatasetInfo {
  return facts(entry(name));
}

/**
 * What is wrong with a corpus root: `missing` (none given), `not-a-folder`
 * (no such folder), or null when it is a folder.
 */
export function rootProblem(
  root: string | undefined,
): "missing" | "not-a-folder" | null {
  if (typeof root !== "string" || root === "") return "missing";
  try {
    return Deno.statSync(root).isDirectory ? null : "not-a-folder";
  } catch {
    return "not-a-folder";
  }
}

/** Options of {@link loadFlowDataset}. */
export interface LoadOptions {
  /** progress callback (samples done, total). */
  onProgress?: (done: number, total: number) => void;
  /** preprocessing Workers for real corpora (default: cores; 0 = in-process). */
  workers?: number;
  /** draw a progress bar on stderr (real corpora). */
  progressBar?: boolean;
}

const CORPUS_OPTIONS = [
  "align",
  "margin",
  "top",
  "minConfidence",
  "flowSize",
  "tvl1",
  "annotations",
  "framesDir",
  "apexMethod",
];

/** What {@link loadCorpusRecords} returns. */
export interface CorpusRecords {
  /** the records, labelled in the dataset's class list. */
  records: SampleRecord[];
  /** records left out because the protocol excludes their emotion. */
  excluded: { id: string; emotion: string }[];
  /** ids of records whose apex was estimated. */
  apexEstimated: string[];
}

function checkRoot(req: DatasetRequest): string {
  switch (rootProblem(req.root)) {
    case "missing":
      throw new Error(
        `dataset "${req.name}" is a real corpus: give its root folder (req.root / the <root> argument)`,
      );
    case "not-a-folder":
      throw new Error(
        `dataset "${req.name}": root ${req.root} does not exist or is not a folder`,
      );
  }
  return req.root!;
}

function stringOpt(o: Record<string, unknown>, k: string): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !v) {
    throw new Error(`option ${k} must be a non-empty string, got ${String(v)}`);
  }
  return v;
}

/**
 * Reads a real corpus's annotations into records labelled with the
 * dataset's classes (no preprocessing).
 */
export async function loadCorpusRecords(
  req: DatasetRequest,
): Promise<CorpusRecords> {
  const info = entry(req.name);
  if (!info.read) {
    throw new Error(`dataset "${req.name}" is synthetic, not a corpus`);
  }
  const root = checkRoot(req);
  const o = req.options ?? {};
  for (const k of Object.keys(o)) {
    if (!CORPUS_OPTIONS.includes(k)) {
      throw new Error(
        `dataset "${req.name}": unknown option "${k}" (known: ${
          CORPUS_OPTIONS.join(", ")
        })`,
      );
    }
  }
  const apexEstimated: string[] = [];
  const apexMethod = o.apexMethod;
  if (
    apexMethod !== undefined && apexMethod !== "difference" &&
    apexMethod !== "tvl1"
  ) {
    throw new Error(
      `option apexMethod must be "difference" or "tvl1", got ${
        String(apexMethod)
      }`,
    );
  }
  const raw = await info.read(root, {
    onApexEstimated: (id: string) => apexEstimated.push(id),
    apexMethod: apexMethod as ApexMethod | undefined,
    annotations: stringOpt(o, "annotations"),
    framesDir: stringOpt(o, "framesDir"),
  });
  const { toClass3 } = await adapters();
  const records: SampleRecord[] = [];
  const excluded: { id: string; emotion: string }[] = [];
  for (const r of raw) {
    let label = r.label;
    if (info.megc2019Mapping) {
      const c = toClass3(info.megc2019Mapping, r.emotion, r.origin);
      if (c === null) {
        excluded.push({ id: r.id, emotion: r.emotion });
        continue;
      }
      label = c;
    }
    if (!info.classes.includes(label)) {
      throw new Error(
        `${r.origin}: label "${label}" not in ${info.classes.join(", ")}`,
      );
    }
    records.push({
      id: r.id,
      subject: r.subject,
      source: r.source,
      label,
      ...(r.split !== undefined ? { split: r.split } : {}),
      ...(r.frames ? { frames: r.frames } : {}),
    });
  }
  if (records.length === 0) {
    throw new Error(
      `dataset "${req.name}" at ${root}: no samples left after the label mapping`,
    );
  }
  return { records, excluded, apexEstimated };
}

function countBy(xs: readonly string[]): string {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m].map(([k, v]) => `${k} ${v}`).join(", ");
}

/**
 * Loads a dataset by name: synthetic ones in memory, real ones through the
 * adapters and the cached preprocessing pipeline. Unknown names list the
 * known ones; a real corpus without a usable `root` is an error.
 */
export async function loadFlowDataset(
  req: DatasetRequest,
  opts: LoadOptions = {},
): Promise<FlowDataset> {
  const info = datasetInfo(req.name);
  if (info.kind === "synthetic") {
    const { loadSyntheticDataset } = await import("./synthetic/mod.ts");
    return await loadSyntheticDataset(req, opts.onProgress);
  }
  const { records, excluded, apexEstimated } = await loadCorpusRecords(req);
  const o = req.options ?? {};
  const pipe: PipelineOptions = {
    imageSize: req.imageSize,
    channels: req.channels,
    align: o.align as boolean | undefined,
    margin: o.margin as number | undefined,
    top: o.top as number | undefined,
    minConfidence: o.minConfidence as number | undefined,
    flowSize: o.flowSize as number | undefined,
    tvl1: o.tvl1 as Partial<Tvl1Options> | undefined,
    cacheDir: req.cacheDir ?? ".cache/flow",
    cacheNamespace: req.name,
    workers: opts.workers,
    onProgress: opts.onProgress,
    progressBar: opts.progressBar,
  };
  const { preprocessRecords } = await import("./pipeline.ts");
  const { samples } = await preprocessRecords(records, pipe);
  const subjects = new Set(records.map((r) => r.subject)).size;
  const parts = [
    `${info.description}: ${samples.length} samples, ${subjects} subjects`,
    `classes: ${countBy(records.map((r) => r.label))}`,
  ];
  if (excluded.length) {
    parts.push(
      `${excluded.length} excluded by the protocol (${
        countBy(excluded.map((e) => e.emotion))
      })`,
    );
  }
  if (apexEstimated.length) {
    parts.push(`apex estimated for ${apexEstimated.length}`);
  }
  parts.push(
    `flow ${req.imageSize}×${req.imageSize} ${req.channels}, ${
      o.align === false ? "centre crop" : "face-aligned"
    }, TV-L1`,
  );
  return {
    name: req.name,
    classes: info.classes,
    samples,
    description: parts.join("; "),
  };
}
