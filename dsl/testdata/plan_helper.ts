/**
 * A small LOSO spec over the stand-in 3-class data and {@link plan}, which
 * validates a spec, resolves its variants and plans its jobs on the stand-in
 * dataset: shared by the planner's and the protocols' tests.
 *
 * @module
 */
import { planJobs, resolveVariants } from "../plan.ts";
import { foldsFor } from "../protocols.ts";
import type { Experiment } from "../schema.ts";
import { validateExperiment } from "../spec.ts";
import { deps, standInDataset } from "./stand_in_deps.ts";

/** Two variants × two seeds, LOSO over 6 subjects of 16×16 stand-in data. */
export const base = {
  name: "p",
  dataset: {
    name: "synthetic-3db",
    imageSize: 16,
    options: { perClass: 4, subjects: 6 },
  },
  protocol: { kind: "loso" },
  model: { head: "linear" },
  seeds: [1, 2],
  variants: { a: { model: { scans: ["h"] } }, b: { model: { scans: ["v"] } } },
} as const;

/**
 * Plans a validated spec on the stand-in dataset its `dataset` section asks
 * for: the data, the resolved variants (only those of `only` when given; with
 * the data's class count when `numClasses` is set) and the jobs.
 */
export async function planOnStandIn(
  spec: Experiment,
  options: { only?: string[]; numClasses?: boolean } = {},
) {
  const ds = await standInDataset({
    name: spec.dataset.name,
    imageSize: spec.dataset.imageSize,
    channels: "uv",
    options: spec.dataset.options ?? undefined,
  });
  const variants = resolveVariants(spec, deps, {
    ...(options.only ? { only: options.only } : {}),
    ...(options.numClasses ? { numClasses: ds.classes.length } : {}),
  });
  return {
    ds,
    variants,
    jobs: planJobs(spec, variants, foldsFor(spec.protocol, ds.samples)),
  };
}

/** Validates `spec` and plans it on the stand-in dataset. */
export async function plan(spec: unknown) {
  const s = validateExperiment(spec);
  return { spec: s, ...await planOnStandIn(s, { numClasses: true }) };
}
