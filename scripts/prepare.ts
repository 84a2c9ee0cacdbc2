/**
 * `deno task prepare` — prepares (and caches) the flow tensors of a dataset
 * and prints a summary (samples per class, subject and split).
 *
 * ```
 * deno task prepare <dataset> <root> [--size 224] [--channels uv|uvs]
 *     [--no-align] [--flow-size N] [--cache DIR] [--workers N]
 *     [--annotations FILE] [--json FILE]
 * deno task prepare synthetic-dfme|synthetic-3db [--size 32] [--seed N]
 * deno task prepare synthetic-dfme|synthetic-3db <out-root> --write-frames
 *     [--seed N] [--render-size N] [--subjects N] [--samples-per-subject N]
 * ```
 *
 * `--write-frames` writes the synthetic corpus to disk as image files plus
 * annotations in the DFME-like (synthetic-dfme) or MEGC2019-composite-like
 * (synthetic-3db) layout, so the real pipeline can run on it:
 * `deno task prepare dfme <out-root> --no-align` or
 * `deno task prepare megc2019 <out-root> --no-align`.
 *
 * @module
 */
import {
  type FlowDataset,
  listDatasets,
  loadFlowDataset,
  type SyntheticFlavour,
  writeSyntheticCorpus,
} from "../data/mod.ts";

/** The `--help` text. */
export function usage(): string {
  const names = listDatasets().map((d) =>
    `  ${d.name.padEnd(15)} ${d.kind.padEnd(9)} ${d.description}`
  ).join("\n");
  return `Usage:
  deno task prepare <dataset> <root> [options]      prepare + cache flows of a corpus
  deno task prepare <synthetic-…> [options]          generate synthetic flows (in memory + cache)
  deno task prepare <synthetic-…> <out> --write-frames  write the synthetic corpus to disk

Options:
  --size N              flow side in pixels (default 224)
  --channels uv|uvs     flow channels; uvs adds optical strain (default uv)
  --no-align            centre crop instead of face alignment (face-api)
  --flow-size N         side at which TV-L1 runs (default = --size)
  --cache DIR           flow cache folder (default .cache/flow)
  --workers N           preprocessing Workers (default: number of cores; 0 = in-process)
  --annotations FILE    annotation file (CASME II / SAMM sheet, MEGC2019 CSV)
  --apex-method M       difference (default) or tvl1: apex estimation where
                        the corpus has no apex label (SMIC-HS)
  --json FILE           also write the summary as JSON
  --seed N, --render-size N, --subjects N, --samples-per-subject N
                        synthetic options
  --write-frames        (synthetic) write frames + annotations under <out>
  -h, --help            this text

Datasets:
${names}
`;
}

/** Per-class / per-subject / per-split counts of a dataset. */
export interface DatasetSummary {
  /** dataset name. */
  name: string;
  /** number of samples. */
  samples: number;
  /** number of distinct subjects. */
  subjects: number;
  /** class → count, in class-list order. */
  perClass: Record<string, number>;
  /** split → count (`-` when none). */
  perSplit: Record<string, number>;
  /** source → count. */
  perSource: Record<string, number>;
  /** subject → count. */
  perSubject: Record<string, number>;
  /** the dataset's description line. */
  description: string;
}

function count(xs: string[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const x of [...xs].sort()) m[x] = (m[x] ?? 0) + 1;
  return m;
}

/** Counts a dataset's samples by class, split, source and subject. */
export function summarise(ds: FlowDataset): DatasetSummary {
  const perClass: Record<string, number> = {};
  for (const c of ds.classes) perClass[c] = 0;
  for (const s of ds.samples) {
    if (!(s.label in perClass)) {
      throw new Error(
        `sample ${s.id}: label "${s.label}" not in the class list`,
      );
    }
    perClass[s.label]++;
  }
  const perSubject = count(ds.samples.map((s) => s.subject));
  return {
    name: ds.name,
    samples: ds.samples.length,
    subjects: Object.keys(perSubject).length,
    perClass,
    perSplit: count(ds.samples.map((s) => s.split ?? "-")),
    perSource: count(ds.samples.map((s) => s.source)),
    perSubject,
    description: ds.description,
  };
}

/** Renders a summary as plain text tables. */
export function formatSummary(s: DatasetSummary): string {
  const table = (title: string, r: Record<string, number>) =>
    `${title}:\n` +
    Object.entries(r).map(([k, v]) =>
      `  ${k.padEnd(24)} ${String(v).padStart(5)}`
    ).join("\n");
  const subj = Object.values(s.perSubject);
  return [
    `${s.name}: ${s.samples} samples, ${s.subjects} subjects`,
    s.description,
    table("per class", s.perClass),
    table("per split", s.perSplit),
    table("per source", s.perSource),
    `per subject: min ${Math.min(...subj)}, max ${Math.max(...subj)}, mean ${
      (s.samples / s.subjects).toFixed(1)
    }`,
  ].join("\n");
}

function intArg(
  name: string,
  v: string | undefined,
  lo: number,
  hi: number,
): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi) {
    throw new Error(
      `--${name} must be an integer in [${lo}, ${hi}], got "${v}"`,
    );
  }
  return Number(v);
}

const STRING_FLAGS = [
  "size",
  "channels",
  "flow-size",
  "cache",
  "workers",
  "annotations",
  "apex-method",
  "json",
  "seed",
  "render-size",
  "subjects",
  "samples-per-subject",
];
const BOOLEAN_FLAGS = ["no-align", "write-frames", "help"];

/**
 * Parses `--flag value`, `--flag=value`, boolean `--flag` and `-h`; unknown
 * flags and missing values are errors naming the flag.
 */
export function parseCli(
  args: string[],
): {
  values: Record<string, string | undefined>;
  flags: Set<string>;
  positionals: string[];
} {
  const values: Record<string, string | undefined> = {};
  const flags = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-h") {
      flags.add("help");
      continue;
    }
    if (!a.startsWith("--")) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (BOOLEAN_FLAGS.includes(name)) {
      if (eq >= 0) throw new Error(`--${name} takes no value`);
      flags.add(name);
    } else if (STRING_FLAGS.includes(name)) {
      const val = eq >= 0 ? a.slice(eq + 1) : args[++i];
      if (val === undefined || (eq < 0 && val.startsWith("--"))) {
        throw new Error(`--${name} needs a value`);
      }
      values[name] = val;
    } else {
      throw new Error(`unknown option --${name}`);
    }
  }
  return { values, flags, positionals };
}

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCli(args);
  } catch (e) {
    console.error(
      `prepare: ${e instanceof Error ? e.message : e}\n\n${usage()}`,
    );
    return 2;
  }
  const { values: v, flags, positionals } = parsed;
  if (flags.has("help")) {
    console.log(usage());
    return 0;
  }
  try {
    const [name, root, ...rest] = positionals;
    if (!name) throw new Error("missing <dataset> (see --help)");
    if (rest.length) throw new Error(`unexpected arguments: ${rest.join(" ")}`);
    const synthetic = listDatasets().some((d) =>
      d.name === name && d.kind === "synthetic"
    );
    const synthOptions: Record<string, unknown> = {};
    const seed = intArg("seed", v.seed, 0, 2 ** 31);
    const renderSize = intArg("render-size", v["render-size"], 24, 1024);
    const subjects = intArg("subjects", v.subjects, 3, 10000);
    const sps = intArg(
      "samples-per-subject",
      v["samples-per-subject"],
      1,
      1000,
    );
    if (seed !== undefined) synthOptions.seed = seed;
    if (renderSize !== undefined) synthOptions.renderSize = renderSize;
    if (subjects !== undefined) synthOptions.subjects = subjects;
    if (sps !== undefined) synthOptions.samplesPerSubject = sps;
    if (!synthetic && Object.keys(synthOptions).length) {
      throw new Error(
        "--seed/--render-size/--subjects/--samples-per-subject are for synthetic datasets",
      );
    }
    if (flags.has("write-frames")) {
      if (!synthetic) {
        throw new Error(
          `--write-frames needs a synthetic dataset, got "${name}"`,
        );
      }
      if (!root) throw new Error("--write-frames needs an output folder");
      const corpus = await writeSyntheticCorpus(
        root,
        name as SyntheticFlavour,
        synthOptions,
      );
      console.log(
        `wrote ${corpus.samples.length} ${name} clips to ${root} (${
          corpus.annotations.map((a) => a.slice(root.length + 1)).join(", ")
        })\nprepare them with: deno task prepare ${
          name === "synthetic-dfme" ? "dfme" : "megc2019"
        } ${root} --no-align`,
      );
      return 0;
    }
    const channels = v.channels ?? "uv";
    if (channels !== "uv" && channels !== "uvs") {
      throw new Error(`--channels must be uv or uvs, got "${channels}"`);
    }
    const imageSize = intArg("size", v.size, 8, 2048) ?? 224;
    const workers = intArg("workers", v.workers, 0, 256);
    const options: Record<string, unknown> = synthetic ? synthOptions : {};
    if (!synthetic) {
      if (flags.has("no-align")) options.align = false;
      const fs = intArg("flow-size", v["flow-size"], 8, 2048);
      if (fs !== undefined) options.flowSize = fs;
      if (v.annotations) options.annotations = v.annotations;
      if (v["apex-method"]) options.apexMethod = v["apex-method"];
    } else if (
      flags.has("no-align") || v["flow-size"] || v.annotations ||
      v["apex-method"]
    ) {
      throw new Error(
        "--no-align/--flow-size/--annotations/--apex-method are for real corpora",
      );
    }
    if (synthetic && root) {
      throw new Error(`${name} takes no <root> unless --write-frames is given`);
    }
    const t0 = performance.now();
    const ds = await loadFlowDataset(
      {
        name,
        root,
        imageSize,
        channels,
        cacheDir: v.cache ?? ".cache/flow",
        options,
      },
      { workers, progressBar: !synthetic && Deno.stderr.isTerminal() },
    );
    const summary = summarise(ds);
    console.log(formatSummary(summary));
    console.log(
      `prepared in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    if (v.json) {
      await Deno.writeTextFile(v.json, JSON.stringify(summary, null, 2) + "\n");
    }
    return 0;
  } catch (e) {
    console.error(`prepare: ${e instanceof Error ? e.message : e}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
