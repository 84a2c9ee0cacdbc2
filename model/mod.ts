/**
 * The model library: MERba and its MambaVision-B baseline assembled from a
 * plain {@link ModelConfig}, with a named (PyTorch state-dict style)
 * parameter tree, deterministic seeded initialisation, safetensors weights
 * I/O in PyTorch layouts, the selective scan, scan orders, and the backend
 * runtime.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { buildModel, initBackend, merbaBase } from "./mod.ts";
 *
 * await initBackend("wasm");
 * const model = buildModel(merbaBase({ inputSize: 112, windowSize: [7, 7, 7, 4] }), 42);
 * const out = model.apply(tf.zeros([1, 112, 112, 2]), { training: false });
 * out.coarse!.print();
 * ```
 *
 * @module
 */
export type {
  BaseScan,
  ForwardOptions,
  MerModel,
  MixerConfig,
  ModelConfig,
  ModelOutput,
  ModelOverrides,
  ScanName,
} from "./types.ts";
export { DT_INITS, EXTENTS, HEAD_KINDS, MODEL_FAMILIES } from "./types.ts";
export {
  halve,
  inputHW,
  mambaVisionB,
  merbaBase,
  mergeModelConfig,
  ModelConfigError,
  type StageGeometry,
  stageGeometry,
  transformerBlocks,
  validateModelConfig,
} from "./config.ts";
export {
  createModel,
  listModels,
  MODEL_ALIASES,
  MODEL_NAMES,
  MODEL_SIZES,
  modelConfig,
  type ModelName,
  type ModelSize,
  modelSize,
  UnknownModelError,
} from "./registry.ts";
export {
  buildModel,
  countParams,
  declareModel,
  dropPathSchedule,
  modelStore,
} from "./model.ts";
export {
  BASE_SCANS,
  inverse,
  isScanName,
  SCAN_NAMES,
  scanOrder,
} from "./scan_order.ts";
export {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  loadStateDict,
  readSafetensors,
  type SafeTensor,
  type SafeTensorEntry,
  type SafeTensorsFile,
  type SafeTensorsHeader,
  SafetensorsReader,
  saveSafetensors,
  stateDict,
  writeSafetensors,
} from "./safetensors.ts";
export {
  type Layout,
  mayBeMissing,
  type ParamSpec,
  ParamStore,
} from "./params.ts";
export type { InitSpec } from "./init.ts";
export { hashString, streamSeed } from "../rng/mod.ts";
export { type ScanInputs, selectiveScan } from "./selective_scan.ts";
export { permute } from "./ops.ts";
export type {
  Scalar,
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Tensor4D,
  Variable,
} from "./tensor_types.ts";
export {
  type BackendInfo,
  type BackendName,
  initBackend,
  kernelSetLabel,
  type KernelSetSource,
  registerKernels,
} from "./backend/runtime.ts";
