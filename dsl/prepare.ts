/**
 * Preparing an experiment: the spec's dataset request, loading the
 * dataset (a real corpus's root checked first, failures named as
 * {@link DatasetError}s), resolving the variants and planning the jobs;
 * {@link previewPlan} plans without the data when it is not there
 * (`--dry-run`).
 *
 * @module
 */
import { rootProblem } from "../data/registry.ts";
import type { DatasetRequest, FlowDataset } from "../data/types.ts";
import type { DatasetKnowledge, Deps } from "./deps.ts";
import { DatasetError } from "./errors.ts";
import {
  type Job,
  planJobs,
  type ResolvedVariant,
  resolveVariants,
} from "./plan.ts";
import { checkPlanData, foldsFor } from "./protocols.ts";
import type { Experiment } from "./schema.ts";

/** The dataset request of a spec. */
export function datasetRequest(spec: Experiment): DatasetRequest {
  const d = spec.dataset;
  const req: DatasetRequest = {
    name: d.name,
    imageSize: d.imageSize,
    channels: d.channels,
  };
  if (d.root !== undefined) req.root = d.root;
  if (d.cacheDir !== undefined) req.cacheDir = d.cacheDir;
  if (d.options != null) req.options = d.options;
  return req;
}

/** A planned experiment. */
export interface Prepared {
  /** the loaded dataset. */
  dataset: FlowDataset;
  /** the resolved variants, in plan order. */
  variants: ResolvedVariant[];
  /** every job of the plan. */
  jobs: Job[];
}

/**
 * Checks, before loading, that a real corpus has a root folder that
 * exists; the {@link DatasetError} says how to fix it
 * (`pass --data NAME=/path/to/NAME` when no root is given; a given root
 * that is not a folder is not `unavailable`: a dry run fails on it too).
 * Needs {@link Deps.datasetInfo} (without it nothing is checked here).
 */
export function checkDatasetRoot(
  spec: Experiment,
  deps: Pick<Deps, "datasetInfo">,
): void {
  const name = spec.dataset.name;
  const info = knowledgeOf(name, deps);
  if (info?.kind !== "corpus") return;
  const hint = `pass --data ${name}=/path/to/${name.toUpperCase()}`;
  const root = spec.dataset.root;
  const problem = rootProblem(root);
  if (problem === "missing") {
    throw new DatasetError(
      name,
      `dataset "${name}" is a real corpus and the spec gives no root folder: ${hint} (or set dataset.root)`,
      true,
    );
  }
  if (problem === "not-a-folder") {
    // a root was given: a wrong path, not missing data (a dry run fails too)
    throw new DatasetError(
      name,
      `dataset "${name}": root ${root} does not exist or is not a folder (check the path given to --data or dataset.root)`,
    );
  }
}

function knowledgeOf(
  name: string,
  deps: Pick<Deps, "datasetInfo">,
): DatasetKnowledge | undefined {
  if (!deps.datasetInfo) return undefined;
  try {
    return deps.datasetInfo(name);
  } catch (e) {
    throw new DatasetError(name, (e as Error).message);
  }
}

/**
 * Loads the spec's dataset; any failure becomes a {@link DatasetError}
 * whose message names the dataset.
 */
export async function loadDataset(
  spec: Experiment,
  deps: Pick<Deps, "datasetInfo" | "loadFlowDataset">,
): Promise<FlowDataset> {
  checkDatasetRoot(spec, deps);
  const name = spec.dataset.name;
  try {
    return await deps.loadFlowDataset(datasetRequest(spec));
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    const message = (e as Error)?.message ?? String(e);
    throw new DatasetError(
      name,
      message.includes(`"${name}"`) ? message : `dataset "${name}": ${message}`,
    );
  }
}

/** Loads the dataset, resolves the variants (optionally only some) and plans the jobs. */
export async function prepare(
  spec: Experiment,
  deps: Deps,
  options: { variants?: string[]; file?: string } = {},
): Promise<Prepared> {
  const dataset = await loadDataset(spec, deps);
  const variants = resolveVariants(spec, deps, {
    classes: dataset.classes,
    only: options.variants,
    file: options.file,
  });
  checkPlanData(spec, dataset.samples, options.file);
  const folds = foldsFor(spec.protocol, dataset.samples);
  return { dataset, variants, jobs: planJobs(spec, variants, folds) };
}

/**
 * What `--dry-run` shows: a {@link Prepared} when the data can be loaded;
 * otherwise (a real corpus without a usable root) the variants and, for a
 * fixed split, the jobs (one per variant × seed; their ids do not depend on
 * the data), with `dataset` null and `unavailable` saying why.
 */
export interface PlanPreview {
  /** the loaded dataset, or null when it is not available. */
  dataset: FlowDataset | null;
  /** the resolved variants, in plan order. */
  variants: ResolvedVariant[];
  /** the jobs, or null when the folds need the data (LOSO, k-fold). */
  jobs: Job[] | null;
  /** why the data is not loaded (the {@link DatasetError}'s message). */
  unavailable?: string;
}

/**
 * Like {@link prepare}, but a dataset that is not there (see
 * {@link DatasetError.unavailable}) does not fail: the plan is made from
 * what the spec and the data layer's {@link Deps.datasetInfo} know.
 */
export async function previewPlan(
  spec: Experiment,
  deps: Deps,
  options: { variants?: string[]; file?: string } = {},
): Promise<PlanPreview> {
  try {
    return await prepare(spec, deps, options);
  } catch (e) {
    if (!(e instanceof DatasetError && e.unavailable)) throw e;
    const info = knowledgeOf(spec.dataset.name, deps);
    const variants = resolveVariants(spec, deps, {
      classes: info?.classes,
      only: options.variants,
      file: options.file,
    });
    checkPlanData(spec, null, options.file);
    const jobs = spec.protocol.kind === "fixedSplit"
      ? planJobs(spec, variants, foldsFor(spec.protocol, []))
      : null;
    return { dataset: null, variants, jobs, unavailable: e.message };
  }
}
