/**
 * A small LOSO spec over the stand-in 3-class data and {@link plan}, which
 * validates a spec, resolves its variants and plans its jobs on the stand-in
 * dataset: shared by the planner's and the protocols' tests.
 *
 * @module
 */
import { planJobs, resolveVariants } from "../plan.ts";
import { foldsFor } from "../protocols.ts";
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

/** Validates `spec` and plans it on the stand-in dataset. */
export async function plan(spec: unknown) {
  const s = validateExperiment(spec);
  const ds = await standInDataset({
    name: s.dataset.name,
    imageSize: s.dataset.imageSize,
    channels: "uv",
    options: s.dataset.options ?? undefined,
  });
  const variants = resolveVariants(s, deps, { numClasses: ds.classes.length });
  return {
    spec: s,
    ds,
    variants,
    jobs: planJobs(s, variants, foldsFor(s.protocol, ds.samples)),
  };
}
