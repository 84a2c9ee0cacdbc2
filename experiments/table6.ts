/**
 * Table VI of the paper: the Local-Global Feature Integration ablation.
 * Where the local extractor (mixers over windows, or over the whole map)
 * and the self-attention (inside windows, or global) operate, as a grid
 * of the two fields; DFME-public Test B, MERba-DGCM; UF1 / UAR / ACC.
 * The paper reports three of the four cells; the fourth (global extractor,
 * local attention) is run and printed without a published number.
 *
 * @module
 */
import { experiment } from "../dsl/spec.ts";
import { dfmeStudy, LAPTOP_MODEL } from "./scales.ts";

export default experiment({
  name: "table6",
  description:
    "LGFI ablation: extractor local|global × self-attention local|global (paper Table VI, DFME Test B)",
  ...dfmeStudy(),
  protocol: { kind: "fixedSplit", train: "train", tests: ["testB"] },
  model: { ...LAPTOP_MODEL, head: "dgcm" },
  grid: {
    "model.extractor": ["local", "global"],
    "model.attention": ["local", "global"],
  },
  report: {
    metrics: ["uf1", "uar", "acc"],
    groups: ["testB"],
    paper: {
      "extractor=local,attention=local": {
        testB: { uf1: 0.3749, uar: 0.3637, acc: 0.3746 },
      },
      "extractor=global,attention=global": {
        testB: { uf1: 0.3840, uar: 0.3814, acc: 0.4013 },
      },
      "extractor=local,attention=global": {
        testB: { uf1: 0.4302, uar: 0.4263, acc: 0.4415 },
      },
    },
  },
});
