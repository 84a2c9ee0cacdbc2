/**
 * Writing specs in TypeScript: `export default experiment({...})`. The
 * builder is an identity function typed by the schema's input type, so
 * editors complete every field (scan orders, protocols, metrics …) and flag
 * unknown keys; validation happens when the spec is loaded.
 *
 * ```ts
 * import { experiment } from "./spec.ts";
 *
 * export default experiment({
 *   name: "table7-scans",
 *   dataset: { name: "synthetic-dfme", imageSize: 112 },
 *   protocol: { kind: "fixedSplit", train: "train", tests: ["testA", "testB"] },
 *   model: { base: "merba" },
 *   variants: { hv: { model: { scans: ["h", "v"] } } },
 * });
 * ```
 *
 * @module
 */
import * as v from "valibot";
import {
  type Experiment,
  type ExperimentInput,
  ExperimentSchema,
} from "./schema.ts";
import { SpecError, type SpecIssue } from "./errors.ts";

/**
 * Declares an experiment spec. Returns its argument unchanged; the type
 * gives editor completion and compile-time checks of the spec's shape.
 */
export function experiment(spec: ExperimentInput): ExperimentInput {
  return spec;
}

/** Turns valibot issues into {@link SpecIssue}s with dotted paths. */
export function toSpecIssues(
  issues: readonly v.BaseIssue<unknown>[],
): SpecIssue[] {
  return issues.map((issue) => {
    const path = v.getDotPath(issue) ?? "";
    let message = issue.message;
    if (
      issue.kind === "schema" && issue.type === "strict_object" &&
      issue.input === undefined
    ) {
      message = "required field is missing";
    } else if (issue.kind === "schema" && issue.expected === "never") {
      message = `unknown key ${JSON.stringify(issue.input)}`;
    } else if (issue.kind === "schema" && issue.expected === "Object") {
      const key = path.split(".").pop();
      message = issue.input === null
        ? `expected an object, got null (an empty body: write \`${key}: {}\` for no overrides)`
        : `expected an object, got ${
          Array.isArray(issue.input) ? "a list" : issue.received
        }`;
    } else if (issue.kind === "schema" && issue.received === "NaN") {
      message = "expected a finite number, got NaN";
    } else if (issue.type === "variant" && issue.expected) {
      message = `expected kind ${issue.expected}, got ${issue.received}`;
    } else if (issue.kind === "schema" && issue.expected) {
      message = `expected ${issue.expected}, got ${issue.received}`;
    }
    return { path, message };
  });
}

/**
 * Validates a value against a schema; on failure throws a
 * {@link SpecError} naming `file` and every issue's path.
 */
export function parseWith<
  const S extends v.GenericSchema,
>(schema: S, value: unknown, file?: string): v.InferOutput<S> {
  // the first problem of each field only (an infinite weight decay is not
  // also reported as below its minimum)
  const result = v.safeParse(schema, value, { abortPipeEarly: true });
  if (!result.success) throw new SpecError(toSpecIssues(result.issues), file);
  return result.output;
}

/**
 * Validates a spec (its own fields only: model configs are checked when
 * variants are resolved, see `dsl/plan.ts`). Throws a {@link SpecError}
 * naming `file` and the path of every problem.
 */
export function validateExperiment(
  spec: unknown,
  file?: string,
): Experiment {
  return parseWith(ExperimentSchema, spec, file);
}
