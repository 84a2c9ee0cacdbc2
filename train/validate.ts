/**
 * Validation of a training job's input.
 *
 * @module
 */
import { EMOTIONS_7 } from "../data/types.ts";
import type { TrainInput } from "./types.ts";
import { Rng } from "./rng.ts";
import { AdamW } from "./optim.ts";
import { alphaAt, learningRateAt } from "./schedule.ts";
import { drawFlips } from "./augment.ts";
import { checkSamples, labelIndices } from "./batches.ts";

/** Throws a RangeError naming `field` unless `value` is an integer ≥ 1. */
export function positiveInt(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${field} must be an integer ≥ 1, got ${value}`);
  }
}

/**
 * Checks a job before anything is built: recipe numbers, classes against
 * the head, sample shapes and labels, optimizer, schedule, α, flip and
 * early-stopping settings. Throws naming the offending field.
 */
export function validateTrainInput(input: TrainInput): void {
  const { recipe, modelConfig: cfg, classes } = input;
  positiveInt(recipe.epochs, "recipe.epochs");
  positiveInt(recipe.batchSize, "recipe.batchSize");
  positiveInt(recipe.evalBatchSize, "recipe.evalBatchSize");
  if (recipe.microBatchSize !== undefined) {
    positiveInt(recipe.microBatchSize, "recipe.microBatchSize");
  }
  if (cfg.head === "dgcm") {
    const ok = classes.length === EMOTIONS_7.length &&
      classes.every((c, i) => c === EMOTIONS_7[i]);
    if (!ok) {
      throw new Error(
        `modelConfig.head is "dgcm", which needs the 7 classes [${
          EMOTIONS_7.join(", ")
        }] in that order; the dataset has [${classes.join(", ")}]`,
      );
    }
  } else if (cfg.numClasses !== classes.length) {
    throw new Error(
      `modelConfig.numClasses is ${cfg.numClasses} but the dataset has ${classes.length} classes [${
        classes.join(", ")
      }]`,
    );
  }
  if (input.train.length === 0) throw new Error("train: no training samples");
  const [height, width] = typeof cfg.inputSize === "number"
    ? [cfg.inputSize, cfg.inputSize]
    : cfg.inputSize;
  const shape = { height, width, channels: cfg.inChannels };
  checkSamples(input.train, shape, "train");
  if (input.validation) checkSamples(input.validation, shape, "validation");
  for (const [name, samples] of Object.entries(input.tests)) {
    checkSamples(samples, shape, `test split "${name}"`);
    labelIndices(samples, classes, `test split "${name}"`);
  }
  // optimizer, schedule, α and flip settings fail here, before any model
  // is built
  new AdamW(new Map(), recipe.optimizer).dispose();
  learningRateAt(0, 1, recipe.epochs, recipe.optimizer, recipe.schedule);
  if (cfg.head === "dgcm") alphaAt(0, recipe.epochs, recipe.alpha);
  drawFlips(0, recipe.augment.hflip, new Rng(1));
  const es = recipe.earlyStopping;
  if (es) {
    if (!input.validation || input.validation.length === 0) {
      throw new Error(
        "recipe.earlyStopping is set but there is no validation data (validation is null or empty)",
      );
    }
    if (!Number.isInteger(es.patience) || es.patience < 0) {
      throw new RangeError(
        `earlyStopping.patience must be an integer ≥ 0, got ${es.patience}`,
      );
    }
    if (!(Number.isFinite(es.minDelta) && es.minDelta >= 0)) {
      throw new RangeError(
        `earlyStopping.minDelta must be ≥ 0, got ${es.minDelta}`,
      );
    }
    if (!["loss", "uf1", "uar", "acc"].includes(es.monitor)) {
      throw new RangeError(
        `earlyStopping.monitor must be loss|uf1|uar|acc, got ${
          JSON.stringify(es.monitor)
        }`,
      );
    }
  }
}
