/**
 * The experiment DSL: write a micro-expression recognition study as a typed
 * spec (`experiment({...})` in TypeScript, or YAML), and run it: the spec
 * is validated, presets and command-line overrides are applied, the
 * planner expands it into variant × seed × fold jobs with seeds derived by
 * name, the interpreter trains them (in parallel workers, resumable, with
 * records in `runs/<experiment>/<job>/`), and the report is built from the
 * records.
 *
 * Memory: `train.microBatchSize` (gradients accumulated over chunks of the
 * batch) and `train.checkpoint: true` (token blocks recomputed in the
 * backward pass) let paper-scale MERba train on the wasm backend (see
 * `train/train.ts`). A job that exhausts the backend's memory fails with a
 * hint naming both settings; the other jobs run in a fresh worker.
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
export {
  BACKEND_NAMES,
  type DatasetSpec,
  type DatasetSpecInput,
  type EarlyStoppingInput,
  type Experiment,
  type ExperimentInput,
  LAUNCHER_KINDS,
  type LauncherSpec,
  METRIC_NAMES,
  type MetricName,
  type MixerOverrides,
  MODEL_BASES,
  type ModelSpec,
  type PaperNumbers,
  type Preset,
  type PresetInput,
  type Protocol,
  type ProtocolInput,
  type ReferenceRowInput,
  type ReportSpec,
  type ReportSpecInput,
  SCAN_NAMES,
  type SlurmSpec,
  type TrainOverrides,
  type Validation,
  type ValidationInput,
  type VariantInput,
} from "./schema.ts";
export { experiment, validateExperiment } from "./spec.ts";
export type {
  BaseScan,
  ForwardOptions,
  MerModel,
  MixerConfig,
  ModelConfig,
  ModelOutput,
  ScanName,
} from "../model/types.ts";
export type { Tensor2D, Tensor4D, Variable } from "../model/tensor_types.ts";
export type {
  DatasetRequest,
  FlowDataset,
  FlowSample,
  SampleRecord,
} from "../data/types.ts";
export type {
  AlphaSchedule,
  AugmentSettings,
  EarlyStoppingSettings,
  EpochRecord,
  JobSeeds,
  Metrics,
  OptimizerSettings,
  Prediction,
  ScheduleSettings,
  TrainInput,
  TrainRecipe,
  TrainResult,
} from "../train/types.ts";
export type { ReferenceRow, ReportInput, ReportRow } from "./report/types.ts";
export {
  CliError,
  DatasetError,
  SpecError,
  type SpecIssue,
  StoreError,
} from "./errors.ts";
export {
  loadExperiment,
  type LoadOptions,
  loadRawSpec,
  type RawSpec,
} from "./load.ts";
export {
  deepMerge,
  getPath,
  isPlainObject,
  setPath,
  splitPath,
} from "./merge.ts";
export {
  attributeSets,
  type BackendName,
  optionOrigins,
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
  type Job,
  type JobDataset,
  type JobSpec,
  knownClassCount,
  MAX_ACTIVATION,
  MAX_PARAMS,
  type ModelLibrary,
  planJobs,
  type ResolvedVariant,
  resolveVariants,
  shardJobs,
} from "./plan.ts";
export {
  checkPlanData,
  foldsFor,
  type JobSamples,
  splitSamples,
  subjectsOf,
} from "./protocols.ts";
export { deriveSeed, jobSeeds, STREAMS } from "./seeds.ts";
export { canonicalJson, hashValue, sha256Hex } from "./hash.ts";
export {
  backendKernelSet,
  CLAIM_HEARTBEAT_MS,
  CLAIM_STALE_MS,
  claimIsLive,
  type ClaimRecord,
  type DoneRecord,
  type FileRecord,
  fileRecord,
  JOB_FILES,
  JobClaim,
  type JobOutcome,
  type JobRecord,
  type JobState,
  kernelSetOf,
  readClaim,
  type RunContext,
  runContext,
  RunStore,
  tempOwner,
  UNKNOWN_KERNEL_SET,
  writeFileAtomic,
  writeJsonAtomic,
} from "./store.ts";
export {
  type DatasetKnowledge,
  type Deps,
  type Engine,
  loadDeps,
} from "./deps.ts";
export {
  checkDatasetRoot,
  datasetRequest,
  loadDataset,
  type PlanPreview,
  prepare,
  type Prepared,
  previewPlan,
} from "./prepare.ts";
export {
  describeJobFailure,
  executeJob,
  isBackendMemoryError,
  JobAbortedError,
  type JobHooks,
} from "./execute.ts";
export { buildReportInput, readRecords } from "./report_input.ts";
export {
  checkKernelSets,
  formatPlan,
  runExperiment,
  type RunExperimentOptions,
  type RunSummary,
} from "./interpret.ts";
export {
  type JobGate,
  runInWorkers,
  type WorkerPoolOptions,
  type WorkerPoolResult,
} from "./workers.ts";
export { ProgressView } from "./progress.ts";
export {
  formatResultTable,
  type MetricSummary,
  type PairedDifference,
  type ReportSummary,
  type RowSummary,
  summarizeReport,
  type VsReference,
  writeReport,
} from "./report/mod.ts";
