import { strict as assert } from "node:assert";
import { join, relative } from "node:path";
import sharp from "sharp";
import { loadDfme, loadMegc2019 } from "../adapters/mod.ts";
import { renderSyntheticClip } from "./clip.ts";
import { writeSyntheticCorpus } from "./corpus.ts";
import { planSyntheticDataset, resolveSyntheticOptions } from "./plan.ts";

const SMALL = { seed: 9, subjects: 4, samplesPerSubject: 3, renderSize: 40 };

async function walk(
  dir: string,
  root = dir,
  out: string[] = [],
): Promise<string[]> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) await walk(p, root, out);
    else out.push(relative(root, p));
  }
  return out.sort();
}

async function decodeGrey(path: string): Promise<Uint8Array> {
  const { data, info } = await sharp(path).greyscale().raw().toBuffer({
    resolveWithObject: true,
  });
  assert.equal(info.channels, 1);
  return new Uint8Array(data);
}

Deno.test("writeSyntheticCorpus(synthetic-dfme): split CSVs and lossless PNG frames equal to the rendered clip; same options, same bytes", async () => {
  const a = await Deno.makeTempDir({ prefix: "merba_corpus_" });
  const b = await Deno.makeTempDir({ prefix: "merba_corpus_" });
  try {
    const corpus = await writeSyntheticCorpus(a, "synthetic-dfme", SMALL);
    const files = await walk(a);
    assert.deepEqual(
      files.filter((f) => !f.startsWith("frames/")),
      [
        "README.txt",
        "synthetic_truth.csv",
        "testA.csv",
        "testB.csv",
        "train.csv",
      ],
    );
    assert.equal(files.filter((f) => f.endsWith(".png")).length, 2 * 12);
    assert.match(
      await Deno.readTextFile(join(a, "README.txt")),
      /TEST-BED, not real data/,
    );
    const train = (await Deno.readTextFile(join(a, "train.csv"))).trim().split(
      "\n",
    );
    assert.equal(train[0], "sample,subject,onset,apex,label");
    const row = train[1].split(",");
    assert.match(row[0], /^s\d{3}_clip\d{3}$/);
    assert.equal(row[0].split("_")[0], row[1]);
    assert.equal(row[2], "1");
    assert.ok(Number(row[3]) >= 4 && Number(row[3]) <= 12);

    // frames decode to exactly the rendered pixels
    const opts = resolveSyntheticOptions("synthetic-dfme", SMALL);
    const plan = planSyntheticDataset("synthetic-dfme", opts);
    assert.equal(corpus.samples.length, plan.samples.length);
    for (const [k, rec] of corpus.samples.entries()) {
      assert.equal(rec.id, plan.samples[k].record.id);
      const clip = renderSyntheticClip(plan.samples[k], 40, opts.seed);
      assert.deepEqual(await decodeGrey(rec.frames!.onset), clip.onset);
      assert.deepEqual(await decodeGrey(rec.frames!.apex), clip.apex);
    }

    // determinism: a second corpus with the same options is byte-identical
    await writeSyntheticCorpus(b, "synthetic-dfme", SMALL);
    assert.deepEqual(await walk(b), files);
    for (const f of files) {
      if (f === "README.txt") continue;
      assert.deepEqual(
        await Deno.readFile(join(b, f)),
        await Deno.readFile(join(a, f)),
        f,
      );
    }
    // another seed writes other pixels
    await writeSyntheticCorpus(b, "synthetic-dfme", { ...SMALL, seed: 10 });
    const first = corpus.samples[0].frames!.onset;
    assert.notDeepEqual(
      await Deno.readFile(join(b, relative(a, first))),
      await Deno.readFile(first),
    );
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("synthetic corpora are read back by the DFME and MEGC2019 adapters with the same labels, subjects and splits", async () => {
  const root = await Deno.makeTempDir({ prefix: "merba_corpus_" });
  try {
    const dfme = await writeSyntheticCorpus(
      join(root, "dfme"),
      "synthetic-dfme",
      SMALL,
    );
    const read = await loadDfme(join(root, "dfme"));
    assert.equal(read.length, dfme.samples.length);
    const bySample = new Map(read.map((r) => [r.frames!.onset, r]));
    for (const s of dfme.samples) {
      const r = bySample.get(s.frames!.onset);
      assert.ok(r, `${s.id} not read back`);
      assert.equal(r.label, s.label);
      assert.equal(r.split, s.split);
      assert.equal(r.frames!.apex, s.frames!.apex);
      assert.equal(r.subject.split("/").pop(), s.subject.split("/").pop());
    }

    const db = await writeSyntheticCorpus(join(root, "3db"), "synthetic-3db", {
      ...SMALL,
      subjects: 6,
    });
    const csv = (await Deno.readTextFile(join(root, "3db", "megc2019.csv")))
      .trim().split("\n");
    assert.equal(csv[0], "dataset,sub,filename_o,label,onset_frame,apex_frame");
    assert.equal(csv.length - 1, db.samples.length);
    const read3 = await loadMegc2019(join(root, "3db"));
    assert.equal(read3.length, db.samples.length);
    const byOnset = new Map(read3.map((r) => [r.frames!.onset, r]));
    for (const s of db.samples) {
      const r = byOnset.get(s.frames!.onset);
      assert.ok(r, `${s.id} not read back`);
      assert.equal(r.label, s.label);
      assert.equal(r.subject, s.subject);
      assert.equal(r.source, s.source);
      assert.equal(r.frames!.apex, s.frames!.apex);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
