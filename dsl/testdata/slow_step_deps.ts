/**
 * The stand-in dependencies with a training loop whose steps are long
 * synchronous computations (as an sgemm call is: nothing can interrupt it
 * but its end). Each step appends `start N` and `end N` to the file named
 * by `MERBA_TEST_STEP_LOG`, so a test sees whether a step was cut off; the
 * loop checks the job's signal between steps and never finishes by itself.
 *
 * @module
 */
import type { Deps } from "../deps.ts";
import { deps as base } from "./stand_in_deps.ts";

/** How long one step computes, in milliseconds. */
export const STEP_MS = 400;

/** The stand-in dependencies whose `train` runs slow, logged steps. */
export const deps: Deps = {
  ...base,
  train: async (input) => {
    const log = Deno.env.get("MERBA_TEST_STEP_LOG")!;
    for (let step = 0; step < 200; step++) {
      if (input.signal?.aborted) throw input.signal.reason;
      Deno.writeTextFileSync(log, `start ${step}\n`, { append: true });
      const until = performance.now() + STEP_MS;
      while (performance.now() < until) { /* computing */ }
      Deno.writeTextFileSync(log, `end ${step}\n`, { append: true });
      await new Promise((r) => setTimeout(r, 0));
    }
    throw new Error("the slow stand-in never finishes");
  },
};
