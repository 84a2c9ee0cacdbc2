/**
 * Table IV of the paper: DFME-public, fixed subject-disjoint split, Test A
 * and Test B; MambaVision-B, MERba-base (one linear head over the seven
 * emotions) and MERba-DGCM; UF1 / UAR / ACC. The other methods of the
 * paper's table are printed as reference rows (numbers only).
 *
 * @module
 */
import { experiment } from "../dsl/spec.ts";
import { dfmeStudy, LAPTOP_MAMBAVISION } from "./scales.ts";

export default experiment({
  name: "table4",
  description:
    "DFME-public fixed split: MambaVision-B vs MERba-base vs MERba-DGCM (paper Table IV)",
  ...dfmeStudy({ mambaVisionVariants: ["MambaVision-B"] }),
  protocol: { kind: "fixedSplit", train: "train", tests: ["testA", "testB"] },
  variants: {
    "MambaVision-B": {
      description: "the baseline, same recipe as MERba-base",
      model: LAPTOP_MAMBAVISION,
    },
    "MERba-base": {
      description: "MERba with a single linear head over the 7 emotions",
      model: { head: "linear" },
    },
    "MERba-DGCM": {
      description: "MERba with the dual-granularity classification module",
      model: { head: "dgcm" },
    },
  },
  report: {
    metrics: ["uf1", "uar", "acc"],
    groups: ["testA", "testB"],
    paper: {
      "MambaVision-B": {
        testA: { uf1: 0.4002, uar: 0.4064, acc: 0.4578 },
        testB: { uf1: 0.3929, uar: 0.3858, acc: 0.4080 },
      },
      "MERba-base": {
        testA: { uf1: 0.4101, uar: 0.4123, acc: 0.4831 },
        testB: { uf1: 0.4114, uar: 0.4219, acc: 0.4415 },
      },
      "MERba-DGCM": {
        testA: { uf1: 0.4332, uar: 0.4287, acc: 0.5232 },
        testB: { uf1: 0.4302, uar: 0.4263, acc: 0.4415 },
      },
    },
    references: [
      {
        method: "FeatRef (2022)",
        group: "testA",
        values: { uf1: 0.3410, uar: 0.3686, acc: 0.5084 },
      },
      {
        method: "Wang et al. (2024)",
        group: "testA",
        values: { uf1: 0.4067, uar: 0.4074, acc: 0.4641 },
      },
      {
        method: "He et al. (2024)",
        group: "testA",
        values: { uf1: 0.4123, uar: 0.4210, acc: 0.4873 },
      },
      {
        method: "HTNet (2024)",
        group: "testA",
        values: { uf1: 0.3736, uar: 0.3821, acc: 0.4768 },
      },
      {
        method: "FeatRef (2022)",
        group: "testB",
        values: { uf1: 0.2875, uar: 0.3228, acc: 0.3645 },
      },
      {
        method: "Wang et al. (2024)",
        group: "testB",
        values: { uf1: 0.3534, uar: 0.3661, acc: 0.3813 },
      },
      {
        method: "He et al. (2024)",
        group: "testB",
        values: { uf1: 0.4016, uar: 0.4008, acc: 0.4147 },
      },
      {
        method: "HTNet (2024)",
        group: "testB",
        values: { uf1: 0.4076, uar: 0.4062, acc: 0.4214 },
      },
    ],
  },
});
