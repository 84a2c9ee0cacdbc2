/**
 * merba: micro-expression recognition studies as typed experiment specs.
 *
 * A study is a spec (`dsl.experiment`, or a YAML file) that an interpreter
 * (`dsl.runExperiment`, or `deno task run SPEC`) turns into TensorFlow.js
 * models (MERba and its MambaVision-B baseline), trains and evaluates under
 * the study's protocol (LOSO, fixed split, subject k-fold) with seeded random
 * streams, and reports as paper-style tables.
 *
 * The four libraries are also usable on their own, as namespaces:
 * - {@link model}: layers, MERba/MambaVision assembly from a plain config,
 *   the fused selective scan, backends, safetensors I/O;
 * - {@link data}: the synthetic benchmark, real-corpus adapters, image I/O,
 *   face alignment, TV-L1 optical flow, the dataset registry;
 * - {@link train}: the training loop, AdamW, schedules, losses, metrics;
 * - {@link dsl}: spec schema and loading, planner, interpreter, run store,
 *   reports.
 *
 * ```ts
 * import { dsl } from "./mod.ts";
 *
 * export default dsl.experiment({
 *   name: "scans",
 *   dataset: { name: "synthetic-dfme", imageSize: 64 },
 *   protocol: { kind: "fixedSplit", train: "train", tests: ["testB"] },
 *   model: { base: "merba", windowSize: 2, dims: [32, 64, 128, 256] },
 *   variants: { hv: { model: { scans: ["h", "v"] } } },
 * });
 * ```
 *
 * @module
 */
export * as model from "./model/mod.ts";
export * as data from "./data/mod.ts";
export * as train from "./train/mod.ts";
export * as dsl from "./dsl/mod.ts";
export * as rng from "./rng/mod.ts";
