/**
 * The experiment DSL: write a micro-expression recognition study as a typed
 * spec (`experiment({...})` in TypeScript, or YAML), and run it: the spec
 * is validated, presets and command-line overrides are applied, the
 * planner expands it into variant × seed × fold jobs with seeds derived by
 * name, the interpreter trains them (in parallel workers, resumable, with
 * records in `runs/<experiment>/<job>/`), and the report is built from the
 * records.
 *
 * ```ts
 * import { experiment } from "./mod.ts";
 *
 * export default experiment({
 *   name: "scans",
 *   dataset: { name: "synthetic-3db", imageSize: 112 },
 *   protocol: { kind: "loso" },
 *   variants: { hv: { model: { scans: ["h", "v"] } } },
 * });
 * ```
 *
 * @module
 */
export * from "./schema.ts";
export {
  experiment,
  parseWith,
  toSpecIssues,
  validateExperiment,
} from "./spec.ts";
export { CliError, SpecError, type SpecIssue, StoreError } from "./errors.ts";
export { loadExperiment, loadRawSpec, type RawSpec } from "./load.ts";
export {
  deepMerge,
  getPath,
  isPlainObject,
  setPath,
  splitPath,
} from "./merge.ts";
export {
  type BackendName,
  parseRunArgs,
  parseSet,
  resolveExperiment,
  type RunArgs,
  type SetOverride,
  type SpecOverrides,
  USAGE,
} from "./overrides.ts";
export {
  defaultEpochs,
  expandVariants,
  type Fold,
  foldsFor,
  type Job,
  type JobDataset,
  type JobSamples,
  type JobSpec,
  knownClassCount,
  type ModelLibrary,
  planJobs,
  type ResolvedVariant,
  resolveVariants,
  shardJobs,
  splitSamples,
  subjectsOf,
} from "./plan.ts";
export { deriveSeed, jobSeeds, STREAMS } from "./seeds.ts";
export { canonicalJson, hashValue, sha256Hex } from "./hash.ts";
export {
  type DoneRecord,
  JOB_FILES,
  type JobOutcome,
  type JobRecord,
  type RunContext,
  runContext,
  RunStore,
  writeFileAtomic,
  writeJsonAtomic,
} from "./store.ts";
export {
  buildReportInput,
  datasetRequest,
  type Deps,
  type Engine,
  executeJob,
  formatPlan,
  JobAbortedError,
  type JobHooks,
  loadDeps,
  prepare,
  type Prepared,
  readRecords,
  runExperiment,
  type RunExperimentOptions,
  type RunSummary,
} from "./interpret.ts";
export {
  runInWorkers,
  type WorkerPoolOptions,
  type WorkerPoolResult,
} from "./workers.ts";
export { ProgressView } from "./progress.ts";
