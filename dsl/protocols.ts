/**
 * Evaluation protocols over a dataset's samples (pure): the folds of a
 * fixed split, LOSO and k-fold, each job's train/validation/test parts
 * (validation carved from the training subjects or taken from a test
 * split), and the checks of a spec against its data.
 *
 * Folds: LOSO has one fold per subject, named by the subject id, in sorted
 * order; k-fold deals subjects (ordered by a hash of their id, independent
 * of the root seed) round-robin into `fold1…foldK`; a fixed split has one
 * fold named `split`.
 *
 * @module
 */
import type { SampleRecord } from "../data/types.ts";
import { SpecError, type SpecIssue } from "./errors.ts";
import { sha256Hex } from "./hash.ts";
import type { Fold, JobSpec } from "./plan.ts";
import type { Experiment, Protocol } from "./schema.ts";
import { deriveSeed } from "./seeds.ts";

function hashOrder(salt: string, items: string[]): string[] {
  return items.map((s) => [sha256Hex(`${salt}\0${s}`), s] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1))
    .map(([, s]) => s);
}

/**
 * Checks a spec against its data before anything trains (`samples`: the
 * loaded dataset's, or null when it is not available; then only what the
 * spec alone tells is checked): a fixed split's train and test splits
 * exist, `validation.split` is one of the test splits, and every
 * `report.groups` entry is a group the report will have (the test splits;
 * or `overall` and, with `breakdownBy: source` and several sources, each
 * source). Throws a {@link SpecError} naming `file` and each field.
 */
export function checkPlanData(
  spec: Pick<Experiment, "protocol" | "validation" | "report">,
  samples: readonly Pick<SampleRecord, "split" | "source">[] | null,
  file?: string,
): void {
  const issues: SpecIssue[] = [];
  const p = spec.protocol;
  const q = (s: string) => JSON.stringify(s);
  if (p.kind === "fixedSplit" && samples) {
    const splits = [
      ...new Set(samples.flatMap((s) => s.split ? [s.split] : [])),
    ].sort();
    const missing = (name: string) =>
      `the dataset has no split ${q(name)} (its splits: ${
        splits.join(", ") || "none"
      })`;
    if (!splits.includes(p.train)) {
      issues.push({ path: "protocol.train", message: missing(p.train) });
    }
    for (const t of p.tests) {
      if (!splits.includes(t)) {
        issues.push({ path: "protocol.tests", message: missing(t) });
      }
    }
  }
  const v = spec.validation;
  if (
    p.kind === "fixedSplit" && v.kind === "test" && v.split !== undefined &&
    !p.tests.includes(v.split)
  ) {
    issues.push({
      path: "validation.split",
      message: `${q(v.split)} is not one of protocol.tests (${
        p.tests.join(", ")
      })`,
    });
  }
  let groups: string[] | null = null;
  let what = "";
  if (p.kind === "fixedSplit") {
    groups = p.tests;
    what = "the test splits: ";
  } else if (samples || p.breakdownBy === null) {
    const sources = p.breakdownBy === "source" && samples
      ? [...new Set(samples.map((s) => s.source))].sort()
      : [];
    groups = ["overall", ...(sources.length > 1 ? sources : [])];
  }
  for (const g of groups ? spec.report.groups ?? [] : []) {
    if (!groups!.includes(g)) {
      issues.push({
        path: "report.groups",
        message: `no group ${q(g)} (the groups are ${what}${
          groups!.join(", ")
        })`,
      });
    }
  }
  if (issues.length) throw new SpecError(issues, file);
}

/** Sorted distinct subjects of a sample list. */
export function subjectsOf(
  samples: readonly Pick<SampleRecord, "subject">[],
): string[] {
  return [...new Set(samples.map((s) => s.subject))].sort();
}

/**
 * The folds of a protocol over a dataset's samples. Throws when the data
 * cannot support the protocol (no subjects, k > subjects).
 */
export function foldsFor(
  protocol: Protocol,
  samples: readonly Pick<SampleRecord, "subject">[],
): Fold[] {
  if (protocol.kind === "fixedSplit") {
    return [{ name: "split", testSubjects: null }];
  }
  const subjects = subjectsOf(samples);
  if (protocol.kind === "loso") {
    if (subjects.length < 2) {
      throw new SpecError([{
        path: "protocol",
        message: `LOSO needs ≥ 2 subjects, the dataset has ${subjects.length}`,
      }]);
    }
    return subjects.map((s) => ({ name: s, testSubjects: [s] }));
  }
  if (protocol.k > subjects.length) {
    throw new SpecError([{
      path: "protocol.k",
      message:
        `k = ${protocol.k} exceeds the dataset's ${subjects.length} subjects`,
    }]);
  }
  const groups: string[][] = Array.from({ length: protocol.k }, () => []);
  hashOrder("kfold", subjects).forEach((s, i) =>
    groups[i % protocol.k].push(s)
  );
  return groups.map((g, i) => ({
    name: `fold${i + 1}`,
    testSubjects: g.sort(),
  }));
}

/** A job's samples. */
export interface JobSamples<T> {
  /** training samples (validation subjects removed). */
  train: T[];
  /** validation samples (null: none). */
  validation: T[] | null;
  /** test samples per split (`test` for LOSO/k-fold folds). */
  tests: Record<string, T[]>;
}

/**
 * Splits a dataset's samples for a job (pure): the protocol's train/test
 * parts, then the validation choice. `subjects` validation holds out
 * max(1, round(fraction × training subjects)) training subjects, chosen by
 * a hash order salted with the job's root seed and fold. Throws naming the
 * split or fold when a part would be empty.
 */
export function splitSamples<T extends Pick<SampleRecord, "subject" | "split">>(
  job: Pick<JobSpec, "protocol" | "validation" | "seed" | "fold">,
  samples: readonly T[],
): JobSamples<T> {
  let train: T[];
  const tests: Record<string, T[]> = {};
  const p = job.protocol;
  if (p.kind === "fixedSplit") {
    train = samples.filter((s) => s.split === p.train);
    if (!train.length) {
      throw new Error(
        `protocol.train: the dataset has no samples in split ${
          JSON.stringify(p.train)
        }`,
      );
    }
    for (const name of p.tests) {
      tests[name] = samples.filter((s) => s.split === name);
      if (!tests[name].length) {
        throw new Error(
          `protocol.tests: the dataset has no samples in split ${
            JSON.stringify(name)
          }`,
        );
      }
    }
  } else {
    const held = new Set(job.fold.testSubjects ?? []);
    tests.test = samples.filter((s) => held.has(s.subject));
    train = samples.filter((s) => !held.has(s.subject));
    if (!tests.test.length) {
      throw new Error(`fold ${job.fold.name}: no test samples`);
    }
    if (!train.length) {
      throw new Error(`fold ${job.fold.name}: no training samples`);
    }
  }
  const val = job.validation;
  if (val.kind === "none") return { train, validation: null, tests };
  if (val.kind === "test") {
    const name = val.split ?? Object.keys(tests)[0];
    if (!tests[name]) {
      throw new Error(
        `validation.split: no test split ${JSON.stringify(name)} (have ${
          Object.keys(tests).join(", ")
        })`,
      );
    }
    return { train, validation: tests[name], tests };
  }
  const subjects = subjectsOf(train);
  const n = Math.max(1, Math.round(val.fraction * subjects.length));
  if (n >= subjects.length) {
    throw new Error(
      `validation.fraction: ${val.fraction} of ${subjects.length} training subjects leaves none to train on (fold ${job.fold.name})`,
    );
  }
  const held = new Set(
    hashOrder(
      String(deriveSeed(job.seed, job.fold.name, "validation")),
      subjects,
    ).slice(0, n),
  );
  return {
    train: train.filter((s) => !held.has(s.subject)),
    validation: train.filter((s) => held.has(s.subject)),
    tests,
  };
}
