import { strict as assert } from "node:assert";
import type { Prediction } from "../../train/types.ts";
import type { ReportInput } from "./types.ts";
import {
  formatResultTable,
  jsonReport,
  kernelWarning,
  markdownTable,
  summarizeReport,
} from "./table.ts";

/** 20 subjects × 3 clips of 2 classes; `right(s)`: subject s predicted right. */
function study(right: (subject: number) => boolean): Prediction[] {
  const out: Prediction[] = [];
  for (let s = 0; s < 20; s++) {
    for (let c = 0; c < 3; c++) {
      const label = (s + c) % 2;
      out.push({
        id: `s${s}c${c}`,
        subject: `s${s}`,
        source: "casme2",
        split: "test",
        label,
        pred: right(s) ? label : 1 - label,
      });
    }
  }
  return out;
}

const base: ReportInput = {
  name: "compare",
  description: "",
  dataset: "sim",
  classes: ["a", "b"],
  metrics: ["uf1", "acc"],
  rows: [
    // weak: 5 of 20 subjects right; mid: 15 of 20; proposed: 16 of 20
    {
      variant: "weak",
      group: "overall",
      predictionsBySeed: [study((s) => s < 5), study((s) => s < 5)],
      kernelSets: ["wasm+openblas"],
    },
    {
      variant: "mid",
      group: "overall",
      predictionsBySeed: [study((s) => s < 15), study((s) => s < 15)],
      kernelSets: ["wasm+openblas"],
    },
    {
      variant: "proposed",
      group: "overall",
      predictionsBySeed: [study((s) => s < 16), study((s) => s < 16)],
      kernelSets: ["wasm+openblas"],
    },
  ],
  references: [],
  curves: [],
  reference: "proposed",
  bootstrap: { seed: 5, resamples: 1000 },
};

Deno.test("a row whose paired difference to the reference excludes 0 is marked and named in the conclusion; a close row is not", () => {
  const summary = summarizeReport(base);
  const [weak, mid, proposed] = summary.rows;
  assert.equal(proposed.vsReference, null);
  const d = weak.vsReference!.metrics.acc;
  assert.equal(weak.vsReference!.variant, "proposed");
  assert.ok(Math.abs(d.diff - (5 / 20 - 16 / 20)) < 1e-12);
  assert.ok(d.ci95![1] < 0 && d.p! < 0.05, JSON.stringify(d));
  const m = mid.vsReference!.metrics.acc;
  assert.ok(m.ci95![0] <= 0 && m.ci95![1] >= 0, JSON.stringify(m));
  assert.ok(m.p! > 0.05);
  const md = markdownTable(summary);
  assert.match(
    md,
    /\| \*\*weak\*\* \(ours\) \| 0\.\d{4} \[[-\d.]+, [-\d.]+\] ▼ \|/,
  );
  assert.match(md, /\| \*\*mid\*\* \(ours\) \| 0\.\d{4} \[[\d.]+, [\d.]+\] \|/);
  assert.match(md, /\*\*proposed\*\* \(ours, reference\)/);
  assert.match(
    summary.conclusion,
    /^2 of 4 comparisons with proposed exclude 0 at the 95% level .*weak Overall UF1 -0\.\d{3} \(p [<\d. ]+\); weak Overall ACC -0\.550/,
  );
  assert.ok(!summary.conclusion.includes("mid "));
});

Deno.test("with no difference resolved, the conclusion says no row differs from the reference", () => {
  const summary = summarizeReport({
    ...base,
    rows: base.rows.slice(1),
  });
  assert.equal(
    summary.conclusion,
    "No row differs from proposed at the 95% level (UF1/ACC, paired bootstrap over test subjects): these data cannot rank the variants against it.",
  );
});

Deno.test("with fewer than 10 test subjects the conclusion calls the intervals rough", () => {
  const few = (p: Prediction[]) =>
    p.filter((x) => Number(x.subject.slice(1)) < 4);
  const summary = summarizeReport({
    ...base,
    rows: base.rows.slice(1).map((r) => ({
      ...r,
      predictionsBySeed: r.predictionsBySeed.map(few),
    })),
  });
  assert.match(
    summary.conclusion,
    /cannot rank the variants against it\. With only 4 test subjects in a group the intervals are rough\.$/,
  );
});

Deno.test("without a reference row there are no paired comparisons, and the conclusion says so", () => {
  const summary = summarizeReport({ ...base, reference: "gone" });
  assert.ok(summary.rows.every((r) => r.vsReference === null));
  assert.match(summary.conclusion, /reference variant gone has no results/);
});

Deno.test("the JSON report gives metrics.<metric>.ci95 per row and vsReference with diff, ci95 and p", () => {
  const json = JSON.parse(jsonReport(summarizeReport(base)));
  const weak = json.rows[0];
  assert.equal(weak.metrics.uf1.ci95.length, 2);
  assert.ok(weak.metrics.uf1.ci95[0] <= weak.metrics.uf1.mean);
  assert.ok(weak.metrics.uf1.mean <= weak.metrics.uf1.ci95[1]);
  assert.deepStrictEqual(Object.keys(weak.vsReference), [
    "variant",
    "metrics",
  ]);
  assert.deepStrictEqual(Object.keys(weak.vsReference.metrics.acc), [
    "diff",
    "ci95",
    "p",
  ]);
  assert.equal(json.reference, "proposed");
  assert.equal(json.bootstrap.resamples, 1000);
});

Deno.test("one kernel set gives no warning; rows from two kernel sets give a loud one in the terminal table", () => {
  assert.equal(kernelWarning(summarizeReport(base)), null);
  const mixed = summarizeReport({
    ...base,
    rows: [{ ...base.rows[0], kernelSets: ["cpu"] }, ...base.rows.slice(1)],
  });
  const text = formatResultTable(mixed);
  assert.match(
    text,
    /\n!!! WARNING: MIXED KERNEL SETS — rows come from 2 kernel sets \(cpu, wasm\+openblas\)/,
  );
});

Deno.test("formatResultTable renders aligned rows with intervals, marks, seeds, kernel sets and the conclusion, also from the parsed JSON", () => {
  const summary = summarizeReport(base);
  const text = formatResultTable(summary);
  const lines = text.split("\n");
  assert.match(
    lines[0],
    /^Method\s+Overall UF1\s+Overall ACC\s+Seeds\s+Kernels$/,
  );
  assert.match(lines[2], /^weak\s+0\.\d{4} \[[-\d., ]+\] ▼\s+0\.2500 \[/);
  assert.match(
    lines[4],
    /^proposed \(reference\)\s+0\.\d{4} \[.*\s+2\s+wasm\+openblas$/,
  );
  const widths = lines.slice(2, 5).map((l) => l.indexOf(" 2 "));
  assert.ok(widths.every((w) => w === widths[0]), "aligned columns");
  assert.ok(text.includes(summary.conclusion));
  assert.equal(formatResultTable(JSON.parse(jsonReport(summary))), text);
});
