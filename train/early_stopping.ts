/**
 * Early stopping on a validation quantity: after each epoch the monitored
 * value (validation loss: lower is better; uf1/uar/acc: higher is better)
 * improves when it beats the best so far by more than `minDelta`; training
 * stops once `patience` epochs in a row have not improved. With
 * `restoreBest` the best epoch's parameters and buffers are kept in
 * JavaScript memory and put back at the end.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { MerModel } from "../model/types.ts";
import type {
  EarlyStoppingSettings,
  EpochRecord,
  MetricName,
} from "./types.ts";

/**
 * A copy of the parameters and buffers in JavaScript memory (not on the
 * backend: on wasm a model-sized copy would sit on the 4 GiB heap for the
 * rest of training).
 */
type Snapshot = Map<
  string,
  { values: tf.TypedArray; shape: number[]; dtype: tf.DataType }
>;

async function snapshot(model: MerModel): Promise<Snapshot> {
  const snap: Snapshot = new Map();
  for (const [prefix, vars] of [["p", model.params], ["b", model.buffers]]) {
    for (const [k, v] of vars as Map<string, tf.Variable>) {
      snap.set(`${prefix}:${k}`, {
        values: (await v.data()) as tf.TypedArray,
        shape: v.shape,
        dtype: v.dtype,
      });
    }
  }
  return snap;
}

function restore(model: MerModel, snap: Snapshot): void {
  for (const [prefix, vars] of [["p", model.params], ["b", model.buffers]]) {
    for (const [k, v] of vars as Map<string, tf.Variable>) {
      const { values, shape, dtype } = snap.get(`${prefix}:${k}`)!;
      tf.tidy(() => v.assign(tf.tensor(values, shape, dtype)));
    }
  }
}

/**
 * Tracks the best epoch of a run (without early stopping settings, or
 * without validation scores: the last epoch) and decides when to stop.
 */
export class EarlyStopping {
  /** the best epoch so far (1-based; 0 before the first). */
  bestEpoch = 0;
  /** true once training stopped before its last epoch. */
  stoppedEarly = false;
  #bestValue: number | null = null;
  #sinceBest = 0;
  #best: Snapshot | null = null;

  /**
   * @param settings the recipe's early stopping, or null or undefined for none.
   * @param epochs the recipe's number of epochs.
   */
  constructor(
    readonly settings: EarlyStoppingSettings | null | undefined,
    readonly epochs: number,
  ) {}

  /**
   * Records the finished epoch `record` of `model`.
   *
   * @returns true when training stops here.
   */
  async update(record: EpochRecord, model: MerModel): Promise<boolean> {
    const es = this.settings;
    if (!es || !record.validation) {
      this.bestEpoch = record.epoch;
      return false;
    }
    const value = record.validation[es.monitor as MetricName | "loss"];
    const best = this.#bestValue;
    const improved = best === null ||
      (es.monitor === "loss"
        ? value < best - es.minDelta
        : value > best + es.minDelta);
    if (improved) {
      this.#bestValue = value;
      this.bestEpoch = record.epoch;
      this.#sinceBest = 0;
      if (es.restoreBest) {
        this.#best = null;
        this.#best = await snapshot(model);
      }
      return false;
    }
    this.#sinceBest++;
    if (this.#sinceBest >= es.patience) {
      this.stoppedEarly = record.epoch < this.epochs;
      return true;
    }
    return false;
  }

  /** Puts the best epoch's weights back (with `restoreBest`) and frees them. */
  finish(model: MerModel): void {
    if (this.settings?.restoreBest && this.#best) restore(model, this.#best);
    this.release();
  }

  /** Frees the best epoch's copy. */
  release(): void {
    this.#best = null;
  }
}
