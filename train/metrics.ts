/**
 * Recognition metrics of the MEGC / CCAC protocols.
 *
 * Over K classes with per-class counts TP, FP, FN and support N_c (true
 * samples of class c):
 *
 * - F1_c = 2·TP / (2·TP + FP + FN), recall_c = TP / N_c;
 * - UF1 = mean of F1_c, UAR = mean of recall_c, over the classes PRESENT in
 *   the ground truth (N_c > 0);
 * - ACC = ΣTP / N over all samples;
 * - `confusion[true][pred]` counts.
 *
 * For LOSO the metrics are computed once over the predictions of all folds
 * concatenated, not averaged per fold (the caller concatenates).
 *
 * Absent classes (N_c = 0). Such a class has no recall (0/0) and, unless
 * predicted, no F1 either; averaging a 0 or skipping it silently would both
 * distort the means. The decision here:
 *
 * - it is excluded from the UF1 and UAR means and listed in `absent`, so a
 *   subset that lacks a class (a single dataset of the composite, a small
 *   test split) is scored over the classes it has — what the MEGC2019
 *   evaluation script effectively does when sklearn's confusion matrix for
 *   that class degenerates;
 * - predictions OF an absent class still count: they are wrong predictions,
 *   so they lower ACC and count as FN (lower F1 and recall) of the samples'
 *   true classes; they are also this class's FP, reported in `perClass`;
 * - in `perClass` the absent class has `recall = NaN` and `f1 = 0` when it
 *   was predicted (FP > 0, so F1 is defined and 0) or `NaN` when it was
 *   not. NaN is written as `null` in JSON.
 *
 * If every class is absent (no samples) {@linkcode computeMetrics} throws.
 *
 * @module
 */
import type { Metrics } from "./types.ts";

/**
 * Computes UF1, UAR, ACC, the confusion matrix and per-class counts (see
 * the module doc, including absent classes).
 *
 * @param truth true class indices.
 * @param pred predicted class indices, same length.
 * @param classes the class names (K).
 */
export function computeMetrics(
  truth: ArrayLike<number>,
  pred: ArrayLike<number>,
  classes: readonly string[],
): Metrics {
  const k = classes.length;
  if (k === 0) throw new Error("computeMetrics: no classes");
  if (truth.length !== pred.length) {
    throw new Error(
      `computeMetrics: ${truth.length} true labels but ${pred.length} predictions`,
    );
  }
  const n = truth.length;
  if (n === 0) throw new Error("computeMetrics: no predictions to score");
  const confusion = Array.from(
    { length: k },
    () => new Array<number>(k).fill(0),
  );
  for (let i = 0; i < n; i++) {
    const t = truth[i], p = pred[i];
    for (const [what, v] of [["true label", t], ["prediction", p]] as const) {
      if (!Number.isInteger(v) || v < 0 || v >= k) {
        throw new RangeError(
          `computeMetrics: ${what} ${i} is ${v}, expected an integer in [0, ${k})`,
        );
      }
    }
    confusion[t][p]++;
  }
  const perClass = classes.map((name, c) => {
    const support = confusion[c].reduce((s, x) => s + x, 0);
    const tp = confusion[c][c];
    const predicted = confusion.reduce((s, row) => s + row[c], 0);
    const fp = predicted - tp;
    const fn = support - tp;
    const denom = 2 * tp + fp + fn;
    return {
      name,
      support,
      tp,
      fp,
      fn,
      f1: denom === 0 ? NaN : 2 * tp / denom,
      recall: support === 0 ? NaN : tp / support,
    };
  });
  const scores = scoreConfusion(confusion.flat(), k);
  return {
    uf1: scores.uf1,
    uar: scores.uar,
    acc: scores.acc,
    n,
    classes: [...classes],
    confusion,
    perClass,
    absent: perClass.filter((c) => c.support === 0).map((c) => c.name),
  };
}

/**
 * UF1, UAR and ACC of a K×K confusion matrix given flat, row-major
 * (`confusion[t * k + p]`, counts or non-negative weights), with the
 * absent-class rule of the module doc. The one implementation of the three
 * formulas: {@linkcode computeMetrics} uses it, and so does the report's
 * bootstrap, which scores summed per-subject matrices. All three are NaN
 * when the matrix is empty.
 *
 * @param confusion K·K cells, row = true class, column = prediction.
 * @param k the number of classes.
 */
export function scoreConfusion(
  confusion: ArrayLike<number>,
  k: number,
): { uf1: number; uar: number; acc: number } {
  let f1Sum = 0, recallSum = 0, present = 0, tpSum = 0, n = 0;
  for (let c = 0; c < k; c++) {
    let support = 0, predicted = 0;
    for (let j = 0; j < k; j++) {
      support += confusion[c * k + j];
      predicted += confusion[j * k + c];
    }
    const tp = confusion[c * k + c];
    tpSum += tp;
    n += support;
    if (support > 0) {
      present++;
      // 2·TP / (2·TP + FP + FN) = 2·TP / (predicted + support)
      f1Sum += 2 * tp / (predicted + support);
      recallSum += tp / support;
    }
  }
  if (n === 0) return { uf1: NaN, uar: NaN, acc: NaN };
  return { uf1: f1Sum / present, uar: recallSum / present, acc: tpSum / n };
}
