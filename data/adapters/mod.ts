/**
 * Corpus adapters: read a micro-expression corpus as its owners distribute
 * it, plus its annotation file, into {@link CorpusRecord}s (subject unique
 * across sources, id, onset/apex/offset frame paths, label, source, split).
 *
 * How to point the tool at each corpus (details in each module's docs):
 * - CASME II (`casme2.ts`): `<root>/CASME2-coding-*.xlsx` and
 *   `<root>/CASME2_RAW_selected/subXX/EPxx_xx/img{n}.jpg`.
 * - SAMM (`samm.ts`): `<root>/SAMM_Micro_FACS_Codes_v2.xlsx` and
 *   `<root>/SAMM/<subject>/<filename>/<subject>_<frame>.jpg`.
 * - SMIC-HS (`smic.ts`): `<root>/HS/sXX/micro/{negative,positive,surprise}/<clip>/image*.bmp`;
 *   no apex labels, the apex is estimated (`apex.ts`).
 * - MEGC2019 composite (`megc2019.ts`): `<root>/megc2019.csv`
 *   (`dataset,sub,filename_o,label,…`) over `<root>/{casme2,samm,smic}/`.
 * - DFME (`dfme.ts`): `<root>/{train,testA,testB}.csv`
 *   (`sample,subject,onset,apex[,offset],label`) and `<root>/frames/<sample>/`.
 *
 * Missing frames, unreadable images and unknown labels are errors naming
 * the file and row, never silent skips.
 *
 * @module
 */
export {
  type AdapterOptions,
  type CorpusRecord,
  findAnnotationFile,
  resolveClipFrames,
} from "./common.ts";
export {
  type ApexEstimate,
  type ApexMethod,
  type ApexOptions,
  estimateApex,
} from "./apex.ts";
export {
  type CsvRow,
  type CsvTable,
  csvTable,
  normaliseHeader,
  parseCsv,
  readCsvTable,
} from "./csv.ts";
export { readXlsxTable, type SheetRow } from "./xlsx.ts";
export {
  frameFile,
  type FrameIndex,
  frameNumber,
  indexFrames,
  parseFrameCell,
} from "./frames.ts";
export {
  type Class3,
  type CompositeSource,
  MEGC2019_CLASS_MAP,
  normaliseLabel,
  toClass3,
  toEmotion7,
} from "./labels.ts";
export { type Casme2Options, loadCasme2 } from "./casme2.ts";
export { loadSamm, type SammOptions } from "./samm.ts";
export { loadSmic } from "./smic.ts";
export { DFME_SPLITS, loadDfme } from "./dfme.ts";
export {
  compositeSourceName,
  loadMegc2019,
  type Megc2019Options,
} from "./megc2019.ts";
export { CLASSES_3, EMOTIONS_7, type SampleRecord } from "../types.ts";
