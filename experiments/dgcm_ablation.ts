/**
 * The DGCM ablation of the paper (Sec. IV-D3, numbers from Table IV): MERba
 * with a single linear head vs MERba with the dual-granularity
 * classification module, DFME-public Test A and Test B; UF1 / UAR / ACC.
 * A second block varies the α schedule of the fine loss, which the paper
 * does not publish (constant vs rising).
 *
 * @module
 */
import { experiment } from "../dsl/spec.ts";
import { dfmeStudy } from "./scales.ts";

export default experiment({
  name: "dgcm-ablation",
  description:
    "With and without the Dual-Granularity Classification Module (paper Sec. IV-D3), DFME Test A/B",
  ...dfmeStudy(),
  protocol: { kind: "fixedSplit", train: "train", tests: ["testA", "testB"] },
  variants: {
    "without DGCM": {
      description: "single linear head over the 7 emotions (MERba-base)",
      model: { head: "linear" },
    },
    "with DGCM": {
      description: "coarse + fine heads, α rising linearly 0 → 1",
      model: { head: "dgcm" },
    },
    "with DGCM, α = 1": {
      description: "coarse + fine heads, constant α",
      model: { head: "dgcm" },
      train: { alpha: { kind: "constant", start: 1, end: 1 } },
    },
  },
  report: {
    metrics: ["uf1", "uar", "acc"],
    groups: ["testA", "testB"],
    paper: {
      "without DGCM": {
        testA: { uf1: 0.4101, uar: 0.4123, acc: 0.4831 },
        testB: { uf1: 0.4114, uar: 0.4219, acc: 0.4415 },
      },
      "with DGCM": {
        testA: { uf1: 0.4332, uar: 0.4287, acc: 0.5232 },
        testB: { uf1: 0.4302, uar: 0.4263, acc: 0.4415 },
      },
    },
  },
});
