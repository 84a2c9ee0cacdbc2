import { strict as assert } from "node:assert";
import { describeJobFailure } from "./execute.ts";
import type { Job } from "./plan.ts";

Deno.test("a memory failure suggests train.checkpoint until it is set, then smaller micro-batches or another model", () => {
  const job = (recipe: Record<string, unknown>) =>
    ({
      id: "0123456789abcdef",
      variant: "MERba",
      seed: 0,
      fold: { name: "split" },
      backend: "wasm",
      modelConfig: { inputSize: 224, inChannels: 2 },
      recipe: { batchSize: 128, ...recipe },
    }) as unknown as Job;
  const abort = new WebAssembly.RuntimeError("Aborted()");
  const msg = (recipe: Record<string, unknown>) =>
    describeJobFailure(job(recipe), abort).split("224×224×2: ")[1];
  assert.equal(
    msg({}),
    "set --set train.microBatchSize=8 (or a smaller train.batchSize) and --set train.checkpoint=true (token blocks recomputed in the backward pass)",
  );
  assert.equal(
    msg({ checkpoint: true }),
    "set --set train.microBatchSize=8 (or a smaller train.batchSize)",
  );
  assert.equal(
    msg({ microBatchSize: 2 }),
    "set a smaller --set train.microBatchSize=1 and --set train.checkpoint=true (token blocks recomputed in the backward pass)",
  );
  assert.equal(
    msg({ microBatchSize: 2, checkpoint: true }),
    "set a smaller --set train.microBatchSize=1",
  );
  assert.match(
    msg({ microBatchSize: 1 }),
    /^set --set train\.checkpoint=true \(token blocks recomputed in the backward pass\); if one sample at a time still does not fit/,
  );
  assert.match(
    msg({ microBatchSize: 1, checkpoint: true }),
    /^the model does not fit even one sample at a time/,
  );
  const full = describeJobFailure(job({ microBatchSize: 2 }), abort);
  assert.match(
    full,
    /^job 0123456789abcdef \(MERba, seed 0, fold split\) ran out of wasm backend memory \(RuntimeError: Aborted\(\)\) at batch size 128 in micro-batches of 2, input 224×224×2: /,
  );
});
