/**
 * The interpreter's dependencies: what it calls out to in the model
 * library, the data layer, the training engine and the report writer
 * ({@link Deps}), and {@link loadDeps}, which wires the project's own
 * modules or a module of stand-ins (tests; workers import it too).
 *
 * @module
 */
import type { DatasetRequest, FlowDataset } from "../data/types.ts";
import type { MerModel, ModelConfig } from "../model/types.ts";
import type { Metrics, TrainInput, TrainResult } from "../train/types.ts";
import type { ModelLibrary } from "./plan.ts";
import type { ReportInput } from "./report/types.ts";

/** The engine side's functions (see `train/types.ts`). */
export interface Engine {
  /** trains one job and predicts its tests. */
  train(input: TrainInput): Promise<TrainResult>;
  /** UF1/UAR/ACC and confusion of one set of predictions. */
  computeMetrics(
    truth: number[],
    pred: number[],
    classes: readonly string[],
  ): Metrics;
  /** writes the report files; returns their paths. */
  writeReport(input: ReportInput, outDir: string): Promise<string[]>;
}

/** Everything the interpreter calls out to. */
export interface Deps extends ModelLibrary, Engine {
  /** builds a model with seeded initialisation. */
  buildModel(config: ModelConfig, seed: number): MerModel;
  /** loads (and caches) a dataset. */
  loadFlowDataset(req: DatasetRequest): Promise<FlowDataset>;
  /**
   * selects and initialises the TF.js backend; what it returns (the
   * runtime's `BackendInfo`: name, versions, BLAS setting, notes) is
   * recorded in each job's `job.json` (`context.backend`).
   */
  initBackend(name: string): Promise<unknown>;
  /**
   * what the data layer knows about a dataset name without loading it
   * (optional; lets `--dry-run` plan without the data and lets a real
   * corpus without a root be reported before anything is loaded).
   */
  datasetInfo?(name: string): DatasetKnowledge;
  /** writes a model's weights as safetensors (optional). */
  saveSafetensors?(
    model: MerModel,
    path: string,
    metadata?: Record<string, string>,
  ): Promise<void>;
}

/**
 * What {@link Deps.datasetInfo} tells about a dataset name: the part of the
 * data registry's entry (`data/registry.ts` `datasetInfo`) that the DSL uses.
 */
export interface DatasetKnowledge {
  /** `corpus`: read from `root`; `synthetic`: generated. */
  kind: "synthetic" | "corpus";
  /** the class list of the loaded dataset. */
  classes: readonly string[];
  /** one line on what it is. */
  description: string;
}

/**
 * Assembles the dependencies: from `moduleUrl` (a module exporting `deps`,
 * e.g. test stand-ins) or else from the project's own modules. The
 * project's modules are imported on demand: importing the model library
 * registers the TF.js backends, which planning from a spec does not need.
 */
export async function loadDeps(moduleUrl?: string): Promise<Deps> {
  if (moduleUrl) {
    const mod = await import(moduleUrl);
    if (!mod.deps || typeof mod.deps !== "object") {
      throw new Error(`${moduleUrl} does not export \`deps\``);
    }
    return mod.deps as Deps;
  }
  const [model, data, train, metrics, report] = await Promise.all([
    import("../model/mod.ts"),
    import("../data/mod.ts"),
    import("../train/train.ts"),
    import("../train/metrics.ts"),
    import("./report/mod.ts"),
  ]);
  return {
    merbaBase: model.merbaBase,
    mambaVisionB: model.mambaVisionB,
    validateModelConfig: model.validateModelConfig,
    countParams: model.countParams,
    buildModel: model.buildModel,
    saveSafetensors: model.saveSafetensors,
    loadFlowDataset: data.loadFlowDataset,
    datasetInfo: data.datasetInfo,
    initBackend: model.initBackend,
    train: train.train,
    computeMetrics: metrics.computeMetrics,
    writeReport: report.writeReport,
  };
}
