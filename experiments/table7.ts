/**
 * Table VII of the paper: which scan orders the MERba local extractor sums.
 * DFME-public Test B, MERba with DGCM; UF1 / UAR / ACC.
 *
 * The PDF's direction symbols were lost in extraction; the six rows follow
 * the paper's text (Sec. IV-D2) in order: one direction, a pair, three
 * directions mixing raster and zigzag, the base pair with its bi-directional
 * (reversed) counterparts, the base pair with its horizontally mirrored
 * counterparts, and the proposed asymmetric four. Rows 3–5 are our reading
 * of the text; the numbers beside them are the paper's rows 3–5.
 *
 * ```sh
 * deno task run experiments/table7.ts                 # synthetic, laptop scale
 * deno task run experiments/table7.ts --preset smoke  # CI scale
 * deno task run experiments/table7.ts --preset paper --data dfme=/data/DFME
 * ```
 *
 * @module
 */
import { experiment } from "../dsl/spec.ts";
import { dfmeStudy, LAPTOP_MODEL } from "./scales.ts";

export default experiment({
  name: "table7",
  description:
    "Scan-direction ablation of the MERba local extractor (paper Table VII, DFME Test B)",
  ...dfmeStudy(),
  protocol: { kind: "fixedSplit", train: "train", tests: ["testB"] },
  model: { ...LAPTOP_MODEL, head: "dgcm" },
  variants: {
    "h": {
      description: "one direction: horizontal raster",
      model: { scans: ["h"] },
    },
    "h+v": {
      description: "a pair: horizontal and vertical raster",
      model: { scans: ["h", "v"] },
    },
    "h+v+hz": {
      description: "raster and zigzag: both rasters and the horizontal zigzag",
      model: { scans: ["h", "v", "hz"] },
    },
    "h+h-r+v+v-r": {
      description: "the raster pair with its bi-directional counterparts",
      model: { scans: ["h", "h-r", "v", "v-r"] },
    },
    "h+h-m+v+v-m": {
      description:
        "the raster pair with its horizontally mirrored counterparts",
      model: { scans: ["h", "h-m", "v", "v-m"] },
    },
    "h+v+hz+vz": {
      description: "the asymmetric four (MERba)",
      model: { scans: ["h", "v", "hz", "vz"] },
    },
  },
  report: {
    metrics: ["uf1", "uar", "acc"],
    groups: ["testB"],
    paper: {
      "h": { testB: { uf1: 0.3814, uar: 0.3713, acc: 0.3746 } },
      "h+v": { testB: { uf1: 0.3849, uar: 0.3810, acc: 0.3946 } },
      "h+v+hz": { testB: { uf1: 0.3929, uar: 0.3939, acc: 0.4147 } },
      "h+h-r+v+v-r": { testB: { uf1: 0.4102, uar: 0.4020, acc: 0.4147 } },
      "h+h-m+v+v-m": { testB: { uf1: 0.4076, uar: 0.4051, acc: 0.4181 } },
      "h+v+hz+vz": { testB: { uf1: 0.4302, uar: 0.4263, acc: 0.4415 } },
    },
  },
});
