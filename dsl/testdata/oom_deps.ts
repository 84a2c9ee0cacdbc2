/**
 * The stand-in dependencies with a simulated wasm heap exhaustion: training
 * a batch of more than 4 samples at once (batchSize > 4 without a
 * `microBatchSize` ≤ 4) throws `RuntimeError: Aborted()` like the wasm
 * backend does, and, like it, leaves this isolate's "backend" unusable:
 * every later training in the same isolate aborts too.
 *
 * @module
 */
import type { Deps } from "../deps.ts";
import { deps as base } from "./stand_in_deps.ts";

let lost = false;

/** The stand-in dependencies whose `train` aborts on batches over 4. */
export const deps: Deps = {
  ...base,
  train: (input) => {
    const r = input.recipe;
    if (!lost && Math.min(r.batchSize, r.microBatchSize ?? Infinity) > 4) {
      lost = true;
    }
    if (lost) {
      return Promise.reject(
        new WebAssembly.RuntimeError(
          "Aborted(). Build with -sASSERTIONS for more info.",
        ),
      );
    }
    return base.train(input);
  },
};
