/**
 * The tiny LOSO experiment the run-store and worker tests share: the
 * stand-in `synthetic-3db` (4 subjects, 2 samples per class), one epoch,
 * no validation, on cpu; and its job plan with the stand-in dependencies.
 *
 * @module
 */
import type { Job } from "../plan.ts";
import type { Experiment } from "../schema.ts";
import { validateExperiment } from "../spec.ts";
import { planOnStandIn } from "./plan_helper.ts";

/** What differs between the tests' specs. */
export interface LosoSpecOptions {
  /** the experiment name. */
  name: string;
  /** the spec's description (none when absent). */
  description?: string;
  /** the variants (default: the base model only). */
  variants?: Record<string, unknown>;
  /** the SGD learning rate. */
  lr: number;
  /** the root seeds. */
  seeds: number[];
}

/** The tiny LOSO spec, validated. */
export function tinyLosoSpec(o: LosoSpecOptions): Experiment {
  return validateExperiment({
    name: o.name,
    ...(o.description !== undefined ? { description: o.description } : {}),
    dataset: {
      name: "synthetic-3db",
      imageSize: 8,
      options: { perClass: 2, subjects: 4 },
    },
    protocol: { kind: "loso" },
    validation: { kind: "none" },
    model: { head: "linear" },
    ...(o.variants !== undefined ? { variants: o.variants } : {}),
    train: {
      epochs: 1,
      batchSize: 4,
      optimizer: { lr: o.lr },
      earlyStopping: null,
    },
    seeds: o.seeds,
    backend: "cpu",
  });
}

/** The jobs of `spec` (optionally only some variants) over the stand-in data. */
export async function tinyLosoJobs(
  spec: Experiment,
  only?: string[],
): Promise<Job[]> {
  return (await planOnStandIn(spec, { only })).jobs;
}
