/**
 * Stand-in dependencies on a "full disk": the jobs of the variant with
 * scans `h v` fail with ENOSPC, and the report cannot be written (used by
 * scripts/run_test.ts).
 *
 * @module
 */
import type { Deps } from "../deps.ts";
import { deps as standIn } from "./stand_in_deps.ts";

const noSpace = () => new Error("No space left on device (os error 28)");

/** The stand-in deps whose `hv` jobs and report writes fail. */
export const deps: Deps = {
  ...standIn,
  train: (input) =>
    input.modelConfig.scans.join(",") === "h,v"
      ? Promise.reject(noSpace())
      : standIn.train(input),
  writeReport: () => Promise.reject(noSpace()),
};
