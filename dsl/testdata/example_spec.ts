/**
 * An example spec: a tiny scan-order ablation on the synthetic DFME
 * test-bed under its fixed split (used by the tests and as a template).
 *
 * @module
 */
import { experiment } from "../spec.ts";

export default experiment({
  name: "example-scans",
  description: "Scan-order ablation on the synthetic DFME test-bed",
  dataset: {
    name: "synthetic-dfme",
    imageSize: 64,
    options: { subjects: 6, samplesPerSubject: 4 },
  },
  protocol: { kind: "fixedSplit", train: "train", tests: ["testA", "testB"] },
  validation: { kind: "subjects", fraction: 0.2 },
  model: {
    base: "merba",
    dims: [16, 32, 64, 128],
    depths: [1, 1, 1, 1],
    attentionDepths: [0, 1, 1, 1],
    heads: [1, 2, 4, 8],
    windowSize: [8, 4, 2, 1],
    stemDim: 8,
  },
  variants: {
    "h": { model: { scans: ["h"] } },
    "hv": { model: { scans: ["h", "v"] } },
    "all4": { model: { scans: ["h", "v", "hz", "vz"] } },
  },
  train: { epochs: 3, batchSize: 8, optimizer: { lr: 3e-4 } },
  seeds: [1, 2],
  presets: {
    smoke: { train: { epochs: 1 }, seeds: [1] },
    paper: {
      dataset: { name: "dfme", imageSize: 224 },
      model: {
        dims: [128, 256, 512, 1024],
        depths: [3, 3, 10, 5],
        attentionDepths: [0, 2, 2, 2],
        heads: [2, 4, 8, 16],
        windowSize: 7,
        stemDim: 64,
      },
      train: { epochs: 200, batchSize: 128 },
      seeds: [0, 1, 2],
    },
  },
  report: {
    metrics: ["uf1", "uar", "acc"],
    paper: { all4: { testA: { uf1: 0.5, uar: 0.5 } } },
    references: [{ method: "ResNet18", group: "testA", values: { uf1: 0.4 } }],
  },
});
