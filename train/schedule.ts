/**
 * Learning-rate and DGCM-α schedules.
 *
 * The learning rate changes every optimizer step. With `S` steps per epoch,
 * `W = warmupEpochs·S` warmup steps, `T = epochs·S` total steps and
 * `C = (epochs − cooldownEpochs)·S` the first cooldown step, at step `s`
 * (counted from 0):
 *
 * - `s < W`: linear warmup, `warmupStartLr + (lr − warmupStartLr)·s/W`;
 * - `W ≤ s < C`: cosine decay,
 *   `minLr + ½(lr − minLr)(1 + cos(π·(s − W)/(C − W)))`, which starts at `lr`
 *   right after the warmup and reaches `minLr` at `C`;
 * - `s ≥ C`: cooldown, `minLr` held (timm's cooldown epochs).
 *
 * This is timm's `CosineLRScheduler` with `warmup_prefix=True`, updated per
 * step. When `warmupEpochs + cooldownEpochs > epochs` the phases are clipped
 * to the run: the warmup is cut at `T` and the cosine phase is empty.
 *
 * @module
 */
import type {
  AlphaSchedule,
  OptimizerSettings,
  ScheduleSettings,
} from "./types.ts";

function nonNegative(field: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new RangeError(`${field} must be a number ≥ 0, got ${value}`);
  }
}

/**
 * The learning rate of step `step` (0-based, counted over the whole run).
 *
 * @param step the global optimizer step, 0-based.
 * @param stepsPerEpoch optimizer steps per epoch (≥ 1).
 * @param epochs epochs of the run (≥ 1).
 * @param optimizer supplies the peak learning rate `lr`.
 * @param schedule warmup/cooldown lengths and the start/floor rates.
 */
export function learningRateAt(
  step: number,
  stepsPerEpoch: number,
  epochs: number,
  optimizer: Pick<OptimizerSettings, "lr">,
  schedule: ScheduleSettings,
): number {
  if (!Number.isInteger(step) || step < 0) {
    throw new RangeError(`step must be an integer ≥ 0, got ${step}`);
  }
  if (!Number.isInteger(stepsPerEpoch) || stepsPerEpoch < 1) {
    throw new RangeError(
      `stepsPerEpoch must be an integer ≥ 1, got ${stepsPerEpoch}`,
    );
  }
  if (!Number.isInteger(epochs) || epochs < 1) {
    throw new RangeError(`epochs must be an integer ≥ 1, got ${epochs}`);
  }
  nonNegative("optimizer.lr", optimizer.lr);
  nonNegative("schedule.warmupEpochs", schedule.warmupEpochs);
  nonNegative("schedule.cooldownEpochs", schedule.cooldownEpochs);
  nonNegative("schedule.warmupStartLr", schedule.warmupStartLr);
  nonNegative("schedule.minLr", schedule.minLr);
  const total = epochs * stepsPerEpoch;
  const warm = Math.min(
    Math.round(schedule.warmupEpochs * stepsPerEpoch),
    total,
  );
  const cool = Math.max(
    warm,
    total - Math.round(schedule.cooldownEpochs * stepsPerEpoch),
  );
  const { lr } = optimizer;
  const { warmupStartLr, minLr } = schedule;
  if (step < warm) {
    return warmupStartLr + (lr - warmupStartLr) * step / warm;
  }
  if (step < cool) {
    const progress = (step - warm) / (cool - warm);
    return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * progress));
  }
  return minLr;
}

/**
 * The DGCM fine-loss weight α at `epoch` (0-based). With
 * `R = rampEpochs ?? epochs` and progress `p = min(1, epoch/(R − 1))`
 * (`p = 1` when `R ≤ 1`), so that α reaches `end` at epoch `R − 1`:
 *
 * - `constant`: `start` throughout (`end` is ignored);
 * - `linear`: `start + (end − start)·p`;
 * - `cosine`: `start + (end − start)·(1 − cos(π·p))/2`;
 * - `step`: `start` while `p < 1`, then `end`.
 *
 * @param epoch the epoch, 0-based.
 * @param epochs epochs of the run.
 * @param alpha the schedule.
 */
export function alphaAt(
  epoch: number,
  epochs: number,
  alpha: AlphaSchedule,
): number {
  if (!Number.isInteger(epoch) || epoch < 0) {
    throw new RangeError(`epoch must be an integer ≥ 0, got ${epoch}`);
  }
  if (!Number.isInteger(epochs) || epochs < 1) {
    throw new RangeError(`epochs must be an integer ≥ 1, got ${epochs}`);
  }
  if (!Number.isFinite(alpha.start)) {
    throw new RangeError(`alpha.start must be a number, got ${alpha.start}`);
  }
  if (!Number.isFinite(alpha.end)) {
    throw new RangeError(`alpha.end must be a number, got ${alpha.end}`);
  }
  const ramp = alpha.rampEpochs ?? epochs;
  if (!(Number.isFinite(ramp) && ramp >= 0)) {
    throw new RangeError(`alpha.rampEpochs must be ≥ 0, got ${ramp}`);
  }
  const p = ramp <= 1 ? 1 : Math.min(1, epoch / (ramp - 1));
  const { start, end } = alpha;
  switch (alpha.kind) {
    case "constant":
      return start;
    case "linear":
      return start + (end - start) * p;
    case "cosine":
      return start + (end - start) * (1 - Math.cos(Math.PI * p)) / 2;
    case "step":
      return p < 1 ? start : end;
    default:
      throw new RangeError(
        `alpha.kind must be constant|linear|cosine|step, got ${
          JSON.stringify((alpha as { kind: unknown }).kind)
        }`,
      );
  }
}
