import { strict as assert } from "node:assert";
import { formatDuration, ProgressView } from "./progress.ts";
import type { Job } from "./plan.ts";
import type { EpochRecord } from "../train/types.ts";

function job(id: string, variant: string, seed: number): Job {
  return {
    id,
    variant,
    seed,
    fold: { name: "split" },
    recipe: { epochs: 4, earlyStopping: { monitor: "uf1" } },
  } as unknown as Job;
}

function epoch(n: number): EpochRecord {
  return {
    epoch: n,
    trainLoss: 1 / n,
    lr: 1e-3,
    seconds: 1,
    validation: { loss: 1, uf1: n / 10, uar: 0, acc: 0 },
  };
}

Deno.test("plain progress lines: job i/N, variant, seed, epoch, loss, validation metric, elapsed and ETA", () => {
  let t = 0;
  const lines: string[] = [];
  const view = new ProgressView(2, false, (l) => lines.push(l), {
    interval: 0,
    now: () => t,
  });
  const a = job("a", "h+v", 1);
  view.startJob(a);
  t = 30_000;
  view.epoch(a, epoch(2));
  t = 60_000;
  view.endJob(a, true);
  view.stop();
  assert.deepEqual(lines, [
    "job 1/2 h+v seed 1 split: epoch 2/4, loss 0.5000, val uf1 0.2000 | elapsed 30s, ETA 1m30s",
    "job 1/2 h+v seed 1 split: done in 1m00s (1/2 finished) | elapsed 1m00s, ETA 1m00s",
  ]);
});

Deno.test("plain progress lines: at most one epoch line per job per interval, always one per ended job", () => {
  let t = 0;
  const lines: string[] = [];
  const view = new ProgressView(2, false, (l) => lines.push(l), {
    interval: 10,
    now: () => t,
  });
  const a = job("a", "h", 0), b = job("b", "h", 1);
  view.startJob(a);
  view.startJob(b);
  for (let e = 1; e <= 4; e++) {
    t += 4_000; // an epoch every 4 s: a line every third epoch at most
    view.epoch(a, epoch(e));
    view.epoch(b, epoch(e));
  }
  view.endJob(a, true);
  view.endJob(b, false);
  assert.equal(
    lines.filter((l) => l.includes("job 1/2") && /epoch/.test(l)).length,
    1,
  );
  assert.equal(
    lines.filter((l) => l.includes("job 2/2") && /epoch/.test(l)).length,
    1,
  );
  assert.match(
    lines.at(-2)!,
    /^job 1\/2 h seed 0 split: done in 16s \(1\/2 finished\)/,
  );
  assert.match(
    lines.at(-1)!,
    /^job 2\/2 h seed 1 split: not finished \(1\/2 finished\)/,
  );
  assert.equal(lines.length, 4);
});

Deno.test("formatDuration writes seconds, minutes and hours", () => {
  assert.equal(formatDuration(37.4), "37s");
  assert.equal(formatDuration(245), "4m05s");
  assert.equal(formatDuration(3720), "1h02m");
});
