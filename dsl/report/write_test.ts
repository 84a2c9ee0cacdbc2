import { strict as assert } from "node:assert";
import { join } from "node:path";
import type { EpochRecord, Prediction } from "../../train/types.ts";
import type { ReportInput } from "./types.ts";
import { csvTable, markdownTable, summarizeReport } from "./table.ts";
import { findFonts, rasterize } from "./charts.ts";
import { writeReport } from "./write.ts";

function preds(
  truth: number[],
  pred: number[],
  source = "casme2",
): Prediction[] {
  return truth.map((label, i) => ({
    id: `s${i}`,
    subject: `sub${i}`,
    source,
    split: "test",
    label,
    pred: pred[i],
  }));
}

const epochs = (n: number, withVal: boolean): EpochRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    epoch: i + 1,
    trainLoss: 1 / (i + 1),
    lr: 1e-3,
    seconds: 0.5,
    ...(withVal
      ? {
        validation: {
          loss: 1.2 / (i + 1),
          uf1: 0.3 + 0.1 * i,
          uar: 0.3,
          acc: 0.4,
        },
      }
      : {}),
  }));

const input: ReportInput = {
  name: "Table X (test)",
  description: "A hand-made report",
  dataset: "synthetic-tiny",
  classes: ["negative", "positive", "surprise"],
  metrics: ["uf1", "uar"],
  rows: [
    {
      variant: "MERba",
      group: "overall",
      // seed 1: UF1 7/9, UAR 5/6; seed 2: perfect
      predictionsBySeed: [
        preds([0, 0, 1, 2], [0, 1, 1, 2]),
        preds([0, 0, 1, 2], [0, 0, 1, 2]),
      ],
      paper: { uf1: 0.9 },
      kernelSets: ["wasm+openblas"],
    },
    {
      variant: "MERba",
      group: "casme2",
      // seed 2 predicts the absent class "surprise" once
      predictionsBySeed: [preds([0, 1], [0, 1]), preds([0, 1], [2, 1])],
    },
    {
      variant: "Baseline",
      group: "overall",
      predictionsBySeed: [preds([0, 1, 2], [0, 0, 0])],
      kernelSets: ["wasm"],
    },
  ],
  reference: "MERba",
  bootstrap: { seed: 1, resamples: 1000 },
  references: [{
    method: "HTNet",
    group: "overall",
    values: { uf1: 0.8603, uar: 0.8475 },
  }],
  curves: [
    { variant: "MERba", seed: 1, fold: "sub01", epochs: epochs(4, true) },
    { variant: "MERba", seed: 2, fold: "sub01", epochs: epochs(4, true) },
    { variant: "Baseline", seed: 1, fold: "sub01", epochs: epochs(3, false) },
  ],
};

Deno.test("report markdown table has the paper layout with hand-computed means, 95% intervals, Δ and kernel sets", () => {
  const md = markdownTable(summarizeReport(input));
  // intervals: percentiles of 1000 resamples of the group's one-clip
  // subjects (seed 1 of the bootstrap); seeded, so fixed.
  assert.equal(
    md,
    [
      "| Method | Overall UF1 | Overall UAR | CASME II UF1 | CASME II UAR | Seeds | Kernels |",
      "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
      "| HTNet | 0.8603 | 0.8475 | n/a | n/a | paper |  |",
      "| **MERba** (ours, reference) | 0.8889 [0.667, 1.000] · paper 0.9000 · Δ -0.0111 | 0.9167 [0.750, 1.000] | 0.7500 [0.500, 1.000] | 0.7500 [0.500, 1.000] | 2 | wasm+openblas |",
      "| **Baseline** (ours) | 0.1667 [0.000, 1.000] | 0.3333 [0.000, 1.000] | – | – | 1 | wasm |",
      "",
    ].join("\n"),
  );
});

Deno.test("report columns follow input.groups, unlisted groups after them", () => {
  const withSamm: ReportInput = {
    ...input,
    rows: [...input.rows, {
      variant: "Baseline",
      group: "samm",
      predictionsBySeed: [preds([0, 1], [0, 1], "samm")],
    }],
  };
  assert.deepEqual(summarizeReport(withSamm).groups, [
    "overall",
    "casme2",
    "samm",
  ]);
  const ordered = summarizeReport({
    ...withSamm,
    groups: ["samm", "absent", "overall"],
  });
  assert.deepEqual(ordered.groups, ["samm", "overall", "casme2"]);
  assert.match(
    markdownTable(ordered).split("\n")[0],
    /^\| Method \| SAMM UF1 \| SAMM UAR \| Overall UF1 \| Overall UAR \| CASME II UF1 \|/,
  );
});

Deno.test("report CSV is long-format with 6-decimal values", () => {
  const lines = csvTable(summarizeReport(input)).trim().split("\n");
  assert.equal(
    lines[0],
    "kind,method,group,metric,mean,std,ci95_lo,ci95_hi,seeds,n,subjects,paper,diff,reference,ref_diff,ref_ci95_lo,ref_ci95_hi,ref_p,kernel_sets",
  );
  assert.ok(
    lines.includes("reference,HTNet,overall,uf1,0.8603,,,,,,,0.8603,,,,,,,"),
  );
  assert.ok(
    lines.includes(
      "ours,MERba,overall,uf1,0.888889,0.157135,0.666667,1,2,4 4,4,0.9,-0.011111,,,,,,wasm+openblas",
    ),
  );
  assert.ok(
    lines.includes("ours,MERba,casme2,uar,0.75,0.353553,0.5,1,2,2 2,2,,,,,,,,"),
  );
  assert.ok(
    lines.includes(
      "ours,Baseline,overall,uar,0.333333,,0,1,1,3,4,,,MERba,-0.583333,-1,0,0.088531,wasm",
    ),
  );
  assert.equal(lines.length, 1 + 2 + 3 * 2);
});

Deno.test("writeReport writes tables, parseable SVG/PNG figures and an index, deterministically", async () => {
  const a = await Deno.makeTempDir({ prefix: "merba_report_" });
  const b = await Deno.makeTempDir({ prefix: "merba_report_" });
  try {
    const files = await writeReport(input, a);
    await writeReport(input, b);
    const rel = files.map((f) => f.slice(a.length + 1)).sort();
    assert.deepStrictEqual(rel, [
      "confusion/baseline__overall.png",
      "confusion/baseline__overall.svg",
      "confusion/merba__casme2.png",
      "confusion/merba__casme2.svg",
      "confusion/merba__overall.png",
      "confusion/merba__overall.svg",
      "curves/baseline.png",
      "curves/baseline.svg",
      "curves/merba.png",
      "curves/merba.svg",
      "index.html",
      "index.md",
      "meta.json",
      "table-x-test.csv",
      "table-x-test.json",
      "table-x-test.md",
    ]);
    for (const r of rel) {
      const x = await Deno.readFile(join(a, r));
      assert.ok(x.length > 0, r);
      if (r === "meta.json") continue;
      assert.deepStrictEqual(
        x,
        await Deno.readFile(join(b, r)),
        `${r} differs between runs`,
      );
    }
    const json = JSON.parse(
      await Deno.readTextFile(join(a, "table-x-test.json")),
    );
    const overall = json.rows.find((r: { variant: string; group: string }) =>
      r.variant === "MERba" && r.group === "overall"
    );
    assert.deepStrictEqual(overall.confusion, [[3, 1, 0], [0, 2, 0], [
      0,
      0,
      2,
    ]]);
    assert.deepStrictEqual(json.rows[1].absent, ["surprise"]);
    const md = await Deno.readTextFile(join(a, "table-x-test.md"));
    assert.ok(md.includes("CASME II: no true sample of surprise"));
    const index = await Deno.readTextFile(join(a, "index.md"));
    assert.ok(index.includes("[SVG](confusion/merba__overall.svg)"));
    assert.ok(index.includes("[SVG](curves/merba.svg)"));
    const html = await Deno.readTextFile(join(a, "index.html"));
    assert.ok(html.includes('<img src="confusion/merba__casme2.svg"'));
    assert.ok(
      html.includes(
        "<td>0.8889 [0.667, 1.000] · paper 0.9000 · Δ -0.0111</td>",
      ),
    );
    assert.ok(html.includes("<td>MERba (ours, reference)</td>"));
    assert.ok(html.includes("WARNING: MIXED KERNEL SETS"));
    assert.ok(html.includes("No row differs from MERba at the 95% level"));
    assert.ok(md.includes("**WARNING: MIXED KERNEL SETS — rows come from 2"));
    assert.ok(md.includes("(wasm, wasm+openblas)"));
    assert.ok(index.includes("WARNING: MIXED KERNEL SETS"));
    // each row's metrics carry ci95; other rows carry vsReference
    assert.deepStrictEqual(overall.metrics.uf1.ci95, [2 / 3, 1]);
    assert.equal(overall.vsReference, null);
    const baseline = json.rows[2];
    assert.equal(baseline.vsReference.variant, "MERba");
    assert.deepStrictEqual(
      Object.keys(baseline.vsReference.metrics.uar),
      ["diff", "ci95", "p"],
    );
    assert.deepStrictEqual(json.kernelSets, ["wasm", "wasm+openblas"]);
    const meta = JSON.parse(await Deno.readTextFile(join(a, "meta.json")));
    assert.ok(!Number.isNaN(Date.parse(meta.generatedAt)));

    // the SVGs parse (resvg rejects malformed XML) and carry the class names
    const svg = await Deno.readTextFile(
      join(a, "confusion/merba__overall.svg"),
    );
    assert.ok(svg.startsWith("<svg"));
    const parsed = await rasterize(svg, findFonts());
    assert.ok(parsed.width > 50 && parsed.height > 50);
    for (const c of input.classes) assert.ok(svg.includes(`>${c}<`), c);
    assert.ok(svg.includes(">3<")); // the summed count of negative→negative
    const curves = await Deno.readTextFile(join(a, "curves/merba.svg"));
    await rasterize(curves, findFonts());
    assert.ok(curves.includes("validation UF1"));
    const png = await Deno.readFile(join(a, "confusion/merba__overall.png"));
    assert.deepStrictEqual([...png.slice(0, 8)], [
      137,
      80,
      78,
      71,
      13,
      10,
      26,
      10,
    ]);
    await assert.rejects(rasterize("<svg", findFonts()));
  } finally {
    if (Deno.env.get("KEEP_REPORT")) console.log("kept", a);
    else await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("text renders with the font findFonts picks (dark pixels appear)", async () => {
  const font = findFonts();
  if (font.files.length === 0) {
    console.warn(`skipping: ${font.note}`);
    return;
  }
  const svg = (text: string) =>
    `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="white"/><text x="5" y="28" font-family="sans-serif" font-size="24">${text}</text></svg>`;
  const darkPixels = async (s: string) => {
    const { pixels } = await rasterize(s, font);
    let n = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      if (pixels[i] < 128 && pixels[i + 3] > 128) n++;
    }
    return n;
  };
  assert.equal(await darkPixels(svg("")), 0);
  assert.ok(await darkPixels(svg("negative")) > 100);
});

Deno.test("writeReport replaces report files by rename, never rewriting one in place, so a full disk cannot leave a truncated table", async () => {
  // A file rewritten in place (truncate, then write) is what a full disk
  // leaves at 0 bytes. Hard-link an old table to a second name: an in-place
  // rewrite would change both names, a rename-into-place only the report's.
  const dir = await Deno.makeTempDir({ prefix: "merba_report_atomic_" });
  try {
    const out = join(dir, "report");
    await Deno.mkdir(out);
    const old = "kind,method\nold,table\n";
    await Deno.writeTextFile(join(dir, "old.csv"), old);
    await Deno.link(join(dir, "old.csv"), join(out, "table-x-test.csv"));
    await writeReport(input, out);
    assert.equal(await Deno.readTextFile(join(dir, "old.csv")), old);
    assert.match(
      await Deno.readTextFile(join(out, "table-x-test.csv")),
      /^kind,method,group,metric,mean/,
    );
    // and no temporary file is left behind
    const names: string[] = [];
    for await (const e of Deno.readDir(out)) names.push(e.name);
    assert.deepStrictEqual(names.filter((n) => n.includes(".tmp-")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
