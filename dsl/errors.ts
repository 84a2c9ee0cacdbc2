/**
 * Errors of the spec side of the DSL. Every error names where the problem
 * is: the spec FILE (when there is one) and the dotted PATH inside the spec.
 *
 * @module
 */

/** One problem found in a spec: a dotted path and what is wrong there. */
export interface SpecIssue {
  /** dotted path inside the spec, e.g. `variants.hv.model.windowSize` (empty: the whole spec). */
  path: string;
  /** what is wrong, e.g. `expected a window that tiles 28×28, got 5`. */
  message: string;
}

/**
 * An invalid experiment spec. The message lists every issue as
 * `FILE: PATH: MESSAGE`, one per line.
 */
export class SpecError extends Error {
  /** the spec file (absent for in-memory specs). */
  readonly file: string | undefined;
  /** the issues, in the order found. */
  readonly issues: SpecIssue[];

  /**
   * Creates the error.
   *
   * @param issues the problems found (at least one).
   * @param file the spec file they are in, when known.
   */
  constructor(issues: SpecIssue[], file?: string) {
    super(
      issues.map((i) => formatIssue(i, file)).join("\n") ||
        `${file ?? "<spec>"}: invalid spec`,
    );
    this.name = "SpecError";
    this.file = file;
    this.issues = issues;
  }

  /** The same issues with `prefix.` put before every path (e.g. `presets.smoke`). */
  withPrefix(prefix: string): SpecError {
    return new SpecError(
      this.issues.map((i) => ({
        path: i.path ? `${prefix}.${i.path}` : prefix,
        message: i.message,
      })),
      this.file,
    );
  }

  /** The same issues attributed to `file` (keeps an already known file). */
  inFile(file: string): SpecError {
    return new SpecError(this.issues, this.file ?? file);
  }
}

function formatIssue(issue: SpecIssue, file: string | undefined): string {
  const where = file ?? "<spec>";
  return issue.path
    ? `${where}: ${issue.path}: ${issue.message}`
    : `${where}: ${issue.message}`;
}

/** A bad command-line flag or flag value; the message names the flag. */
export class CliError extends Error {
  /**
   * Creates the error.
   *
   * @param message what is wrong, naming the flag and the value.
   */
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** A problem with the run store (a corrupt or foreign record); names the file. */
export class StoreError extends Error {
  /**
   * Creates the error.
   *
   * @param message what is wrong, naming the file.
   */
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}

/**
 * The dataset of a spec cannot be loaded (a real corpus without a usable
 * root, a missing annotation file, …). The message names the dataset and,
 * where it can, says how to fix it (e.g. `pass --data dfme=/path/to/DFME`).
 */
export class DatasetError extends Error {
  /** the dataset name. */
  readonly dataset: string;
  /** true when the data is simply not there (no root, or a missing root). */
  readonly unavailable: boolean;

  /**
   * Creates the error.
   *
   * @param dataset the dataset name.
   * @param message what is wrong (and how to fix it).
   * @param unavailable the data is not there at all (a dry run can still plan).
   */
  constructor(dataset: string, message: string, unavailable = false) {
    super(message);
    this.name = "DatasetError";
    this.dataset = dataset;
    this.unavailable = unavailable;
  }
}
