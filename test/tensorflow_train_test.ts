/**
 * Seeded training on the `tensorflow` backend (a tiny MERba with the
 * training library's AdamW and DGCM loss) is bit-identical in two fresh
 * processes at a fixed thread count. Skipped where the backend is not set
 * up (`deno task setup:tensorflow`).
 */
import assert from "node:assert/strict";
import { tfjsNodeCandidates } from "../model/backend/tensorflow.ts";
import { runFresh } from "../model/backend/testdata/fresh_process.ts";

const setUp = tfjsNodeCandidates().length > 0;

/** Runs `testdata/<file>` in a fresh process. */
const fresh = (file: string, args: string[]) =>
  runFresh(new URL(`testdata/${file}`, import.meta.url), args);

Deno.test({
  name:
    "seeded training on tensorflow is bit-identical in two fresh processes at a fixed thread count (1 and 2)",
  ignore: !setUp,
  fn: async () => {
    for (const threads of ["1", "2"]) {
      const runs = await Promise.all(
        [0, 1].map(() => fresh("tf_train_steps.ts", ["tensorflow", threads])),
      );
      for (const r of runs) assert.equal(r.code, 0, r.err.slice(-2000));
      const [a, b] = runs.map((r) =>
        JSON.parse(r.out.trim().split("\n").pop()!)
      );
      assert.equal(a.threads, Number(threads));
      assert.equal(a.hash, b.hash);
      assert.deepEqual(a.losses, b.losses);
    }
  },
});
