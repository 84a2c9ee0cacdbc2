import { join } from "node:path";
import { tempDir } from "../data/testdata/tmp.ts";
import { assert, assertEquals } from "../data/testdata/asserts.ts";
import { loadFlowDataset, loadSyntheticDataset } from "../data/mod.ts";
import { type DatasetSummary, main, parseCli } from "./prepare.ts";

const synth = [
  "--subjects",
  "6",
  "--samples-per-subject",
  "2",
  "--render-size",
  "32",
];

async function quiet<T>(f: () => Promise<T>): Promise<T> {
  const log = console.log, err = console.error;
  console.log = () => {};
  console.error = () => {};
  try {
    return await f();
  } finally {
    console.log = log;
    console.error = err;
  }
}

for (
  const [flavour, corpus] of [["synthetic-dfme", "dfme"], [
    "synthetic-3db",
    "megc2019",
  ]] as const
) {
  Deno.test(`prepare ${flavour} --write-frames → ${corpus} adapter → pipeline gives the in-memory synthetic flows bit for bit`, async () => {
    const dir = await tempDir("merba_prepare_");
    const root = join(dir, "corpus"), json = join(dir, "summary.json");
    assertEquals(
      await quiet(() => main([flavour, root, "--write-frames", ...synth])),
      0,
    );
    const code = await quiet(() =>
      main([
        corpus,
        root,
        "--no-align",
        "--size",
        "16",
        "--flow-size",
        "32",
        "--cache",
        join(dir, "c"),
        "--workers",
        "2",
        "--json",
        json,
      ])
    );
    assertEquals(code, 0);
    const summary = JSON.parse(await Deno.readTextFile(json)) as DatasetSummary;
    const mem = await loadSyntheticDataset({
      name: flavour,
      imageSize: 16,
      channels: "uv",
      cacheDir: join(dir, "c2"),
      options: { subjects: 6, samplesPerSubject: 2, renderSize: 32 },
    });
    assertEquals(summary.samples, mem.samples.length);
    assertEquals(
      summary.subjects,
      new Set(mem.samples.map((s) => s.subject)).size,
    );
    const memClass: Record<string, number> = {};
    for (const c of mem.classes) memClass[c] = 0;
    for (const s of mem.samples) memClass[s.label]++;
    assertEquals(summary.perClass, memClass);
    // the flows read back from disk (cache) equal the in-memory ones
    const disk = await loadFlowDataset({
      name: corpus,
      root,
      imageSize: 16,
      channels: "uv",
      cacheDir: join(dir, "c"),
      options: { align: false, flowSize: 32 },
    }, { workers: 0 });
    assertEquals(disk.classes, mem.classes);
    assertEquals(disk.samples.length, mem.samples.length);
    const key = (subject: string, label: string) => `${subject}|${label}`;
    const byKey = new Map<string, Float32Array[]>();
    for (const s of mem.samples) {
      const k = key(s.subject.split("/").pop()!, s.label);
      byKey.set(k, [...(byKey.get(k) ?? []), s.data]);
    }
    let matched = 0;
    for (const s of disk.samples) {
      const cands = byKey.get(key(s.subject.split("/").pop()!, s.label)) ?? [];
      const hit = cands.find((d) =>
        d.length === s.data.length && d.every((x, i) => x === s.data[i])
      );
      if (hit) matched++;
      if (flavour === "synthetic-dfme") assert(s.split !== undefined);
    }
    assertEquals(matched, mem.samples.length);
  });
}

Deno.test("prepare CLI: --help, bad options and unknown datasets give clear messages and exit codes", async () => {
  const out: string[] = [];
  const log = console.log, err = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => out.push(a.join(" "));
  try {
    assertEquals(await main(["--help"]), 0);
    assert(out.join("\n").includes("--no-align"));
    out.length = 0;
    assertEquals(await main(["dfme", "/x", "--bogus"]), 2);
    assert(out.join("\n").includes("unknown option --bogus"));
    out.length = 0;
    assertEquals(await main(["nope", "/x"]), 1);
    assert(
      out.join("\n").includes('unknown dataset "nope" (known: synthetic-dfme'),
      out.join("\n"),
    );
    out.length = 0;
    assertEquals(await main(["casme2"]), 1);
    assert(out.join("\n").includes("give its root folder"), out.join("\n"));
    out.length = 0;
    assertEquals(await main(["casme2", "/does/not/exist"]), 1);
    assert(
      out.join("\n").includes("/does/not/exist does not exist"),
      out.join("\n"),
    );
    out.length = 0;
    assertEquals(await main(["dfme", "/x", "--channels", "rgb"]), 1);
    assert(out.join("\n").includes("--channels must be uv or uvs"));
  } finally {
    console.log = log;
    console.error = err;
  }
  assertEquals(parseCli(["a", "--size=32", "--no-align", "b"]), {
    values: { size: "32" },
    flags: new Set(["no-align"]),
    positionals: ["a", "b"],
  });
});
