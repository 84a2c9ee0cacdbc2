/**
 * The data layer of merba: datasets as flow tensors, ready for a protocol.
 *
 * ```ts
 * import { loadFlowDataset } from "./mod.ts";
 * const ds = await loadFlowDataset({
 *   name: "casme2", root: "/data/CASME2", imageSize: 224, channels: "uv",
 * });
 * ```
 *
 * - {@link loadFlowDataset} / {@link listDatasets}: the registry
 *   (`synthetic-dfme`, `synthetic-3db`, `dfme`, `megc2019`, `casme2`,
 *   `samm`, `smic`).
 * - Adapters read each corpus as distributed, into records: subject (unique
 *   across sources), id, onset/apex(/offset) frames, label, source, split.
 * - {@link preprocessRecords}: decode → face alignment (face-api) or centre
 *   crop → resize → TV-L1 onset→apex (+ optical strain), cached on disk,
 *   parallel over Workers, bit-identical to the serial run.
 * - `deno task prepare <dataset> <root>` runs it from the command line.
 *
 * ## Pointing the tool at a real corpus
 *
 * CASME II (`casme2`): `<root>/CASME2-coding-*.xlsx` (columns Subject,
 * Filename, OnsetFrame, ApexFrame, OffsetFrame, Estimated Emotion) and
 * `<root>/CASME2_RAW_selected/subXX/<Filename>/img<n>.jpg`.
 *
 * SAMM (`samm`): `<root>/SAMM_Micro_FACS_Codes_v2.xlsx` (Subject, Filename,
 * Onset Frame, Apex Frame, Offset Frame, Estimated Emotion; title rows above
 * the header are fine) and `<root>/SAMM/<subject>/<Filename>/<subject>_<frame>.jpg`.
 *
 * SMIC-HS (`smic`): `<root>/HS/sX/micro/{negative,positive,surprise}/<clip>/image*.bmp`
 * (or `<root>` = the `HS` folder). No apex labels: the apex is estimated as
 * the frame of maximal smoothed frame-difference energy from the onset.
 *
 * MEGC2019 composite (`megc2019`): `<root>/megc2019.csv` with columns
 * `dataset,sub,filename_o,label` (optional onset/apex/offset frames) over
 * `<root>/casme2/`, `<root>/samm/`, `<root>/smic/` laid out as above; the
 * label is negative/positive/surprise, 0/1/2, or a source emotion mapped by
 * {@link MEGC2019_CLASS_MAP}. Without a CSV the composite is built from the
 * three corpora with that table.
 *
 * DFME (`dfme`): `<root>/{train,testA,testB}.csv` with columns
 * `sample,subject,onset,apex,label` (optional `offset`; frame numbers or
 * file names) and frames in `<root>/frames/<sample>/`.
 *
 * Frame files are matched by the last number in their names, so padding
 * does not matter. Missing frames, unreadable images and unknown labels are
 * errors naming the file and the row.
 *
 * @module
 */
export {
  CLASSES_3,
  type DatasetRequest,
  EMOTIONS_7,
  type FlowDataset,
  type FlowSample,
  type SampleRecord,
} from "./types.ts";
export {
  type CorpusRecords,
  type DatasetInfo,
  datasetInfo,
  listDatasets,
  loadCorpusRecords,
  loadFlowDataset,
  type LoadOptions,
} from "./registry.ts";
export {
  computeFlowSample,
  type PipelineOptions,
  type PipelineStats,
  type PreprocessOptions,
  preprocessRecords,
  type ResolvedPreprocess,
  resolvePreprocessOptions,
} from "./pipeline.ts";
export {
  type CachedFlow,
  type CacheFileCheck,
  FlowCache,
  type FlowCacheOptions,
  inspectCachedFlow,
  PIPELINE_VERSION,
  sampleCacheKey,
} from "./cache.ts";
export {
  type AdapterOptions,
  type ApexEstimate,
  type ApexMethod,
  type ApexOptions,
  type Casme2Options,
  type Class3,
  type CompositeSource,
  type CorpusRecord,
  type CsvRow,
  DFME_SPLITS,
  estimateApex,
  loadCasme2,
  loadDfme,
  loadMegc2019,
  loadSamm,
  loadSmic,
  MEGC2019_CLASS_MAP,
  type Megc2019Options,
  parseCsv,
  type SammOptions,
  toClass3,
} from "./adapters/mod.ts";
export {
  type GreyImage,
  readGreyImage,
  readRgbImage,
  resizeArea,
  resizeBilinear,
  resizeGrey,
  type RgbImage,
} from "./image/mod.ts";
export {
  type AlignOptions,
  alignPair,
  centreCropPair,
  createFaceApiDetector,
  type FaceApiOptions,
  type FaceDetector,
  type FaceLandmarks,
  type Point,
} from "./align/mod.ts";
export {
  DEFAULT_TVL1_OPTIONS,
  type FlowField,
  opticalStrain,
  tvl1Flow,
  type Tvl1Options,
} from "./flow/mod.ts";
export {
  loadSyntheticDataset,
  SYNTHETIC_FLAVOURS,
  type SyntheticCorpus,
  type SyntheticFlavour,
  type SyntheticOptions,
  writeSyntheticCorpus,
} from "./synthetic/mod.ts";
