import { strict as assert } from "node:assert";
import { alphaAt, learningRateAt } from "./schedule.ts";
import type { AlphaSchedule, ScheduleSettings } from "./types.ts";

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

// 10 epochs × 4 steps: warmup 2 epochs (8 steps), cooldown 3 epochs (12
// steps), so the cosine runs over steps 8..27 (20 steps), cooldown 28..39.
const sched: ScheduleSettings = {
  warmupEpochs: 2,
  cooldownEpochs: 3,
  warmupStartLr: 1e-4,
  minLr: 1e-5,
};
const lrAt = (s: number) => learningRateAt(s, 4, 10, { lr: 1e-3 }, sched);

Deno.test("learningRateAt warms up linearly per step", () => {
  close(lrAt(0), 1e-4, "step 0");
  close(lrAt(1), 1e-4 + 0.9e-3 / 8, "step 1"); // 2.125e-4
  close(lrAt(4), 5.5e-4, "step 4");
  close(lrAt(7), 1e-4 + 0.9e-3 * 7 / 8, "step 7");
});

Deno.test("learningRateAt decays by cosine from lr to minLr, then holds minLr", () => {
  close(lrAt(8), 1e-3, "cosine start");
  // halfway through the cosine (step 18): (lr + minLr) / 2
  close(lrAt(18), (1e-3 + 1e-5) / 2, "cosine middle");
  // step 13: progress 1/4, cos(π/4) = √2/2
  close(lrAt(13), 1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + Math.SQRT1_2), "q1");
  close(
    lrAt(27),
    1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + Math.cos(Math.PI * 19 / 20)),
    "last cosine",
  );
  for (let s = 28; s < 45; s++) close(lrAt(s), 1e-5, `cooldown ${s}`);
  // monotone non-increasing after the warmup
  for (let s = 9; s < 40; s++) assert.ok(lrAt(s) <= lrAt(s - 1));
});

Deno.test("learningRateAt clips phases longer than the run", () => {
  const s: ScheduleSettings = { ...sched, warmupEpochs: 5, cooldownEpochs: 5 };
  // 3 epochs × 2 steps: warmup 10 steps clipped to 6, no cosine.
  close(learningRateAt(3, 2, 3, { lr: 1e-3 }, s), 1e-4 + 0.9e-3 * 3 / 6, "w");
  close(learningRateAt(6, 2, 3, { lr: 1e-3 }, s), 1e-5, "after");
  // no warmup, no cooldown: pure cosine over all steps
  const z = { warmupEpochs: 0, cooldownEpochs: 0, warmupStartLr: 0, minLr: 0 };
  close(learningRateAt(0, 5, 2, { lr: 2 }, z), 2, "z0");
  close(learningRateAt(5, 5, 2, { lr: 2 }, z), 1, "z5");
});

Deno.test("learningRateAt names the bad field", () => {
  assert.throws(() => learningRateAt(-1, 4, 10, { lr: 1 }, sched), /step/);
  assert.throws(
    () => learningRateAt(0, 0, 10, { lr: 1 }, sched),
    /stepsPerEpoch/,
  );
  assert.throws(
    () => learningRateAt(0, 4, 10, { lr: 1 }, { ...sched, minLr: -1 }),
    /schedule\.minLr/,
  );
});

Deno.test("alphaAt follows each kind with hand-computed values", () => {
  const a = (kind: AlphaSchedule["kind"], rampEpochs?: number) => ({
    kind,
    start: 0.2,
    end: 1,
    rampEpochs,
  });
  close(alphaAt(3, 11, a("constant")), 0.2, "constant");
  close(alphaAt(0, 11, a("linear")), 0.2, "linear 0");
  close(alphaAt(5, 11, a("linear")), 0.6, "linear 5/10");
  close(alphaAt(10, 11, a("linear")), 1, "linear end");
  close(alphaAt(5, 11, a("cosine")), 0.6, "cosine middle");
  close(
    alphaAt(2, 11, a("cosine", 5)),
    0.2 + 0.8 * 0.5,
    "cosine ramp 5, p=1/2",
  );
  close(alphaAt(1, 11, a("cosine", 4)), 0.2 + 0.8 * 0.25, "cosine p=1/3");
  close(alphaAt(7, 11, a("linear", 5)), 1, "after ramp");
  close(alphaAt(3, 11, a("step", 5)), 0.2, "step before");
  close(alphaAt(4, 11, a("step", 5)), 1, "step at R-1");
  close(alphaAt(0, 1, a("linear")), 1, "single epoch");
  assert.throws(
    () => alphaAt(0, 5, { kind: "exp" as "linear", start: 0, end: 1 }),
    /alpha\.kind.*"exp"/,
  );
});
