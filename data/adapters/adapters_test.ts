import { basename, join } from "node:path";
import { encodeRgbImage } from "../image/mod.ts";
import { tempDir } from "../testdata/tmp.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../testdata/asserts.ts";
import {
  writeCasme2Fixture,
  writeClip,
  writeDfmeFixture,
  writeSammFixture,
  writeSmicFixture,
  writeXlsx,
} from "../testdata/corpora.ts";
import {
  csvTable,
  estimateApex,
  loadCasme2,
  loadDfme,
  loadMegc2019,
  loadSamm,
  loadSmic,
  parseCsv,
  toClass3,
} from "./mod.ts";

async function tmp(): Promise<string> {
  return await tempDir("merba_adapters_");
}

Deno.test("parseCsv handles RFC 4180 quoting, CRLF, BOM and blank lines", () => {
  const rows = parseCsv(
    '\ufeffa,b,c\r\n"x, y","say ""hi""",\r\n\r\n"multi\nline",2,3\n',
  );
  assertEquals(rows.map((r) => r.fields), [
    ["a", "b", "c"],
    ["x, y", 'say "hi"', ""],
    ["multi\nline", "2", "3"],
  ]);
  assertEquals(rows.map((r) => r.line), [1, 2, 4]);
  assertThrows(() => parseCsv('a,"b\n', "f.csv"), "f.csv:1: unterminated");
  assertThrows(() => parseCsv('a,b"c"\n', "f.csv"), "f.csv:1: stray quote");
  const t = csvTable("Onset_Frame,Filename O\n1,2\n", "t.csv");
  assertEquals(
    [t.column("onset frame"), t.column("filename_o"), t.column("x")],
    [0, 1, -1],
  );
});

Deno.test("estimateApex picks the frame of peak difference energy", async () => {
  const dir = await tmp();
  const names = Array.from({ length: 9 }, (_, i) => `f${i}.jpg`);
  const paths = await writeClip(dir, names, 6, [40, 30]);
  const est = await estimateApex(paths);
  assertEquals(est.index, 6);
  assertEquals(est.energy[0], 0);
  assert(est.energy[6] > est.energy[2]);
  await Deno.writeTextFile(join(dir, "f3.jpg"), "not an image");
  await assertRejects(() => estimateApex(paths), "f3.jpg");
});

Deno.test("estimateApex with TV-L1 magnitude finds the frame of largest displacement", async () => {
  const dir = await tempDir("merba_adapters_");
  const shifts = [0, 0.5, 1, 2, 3, 2, 1];
  const paths: string[] = [];
  for (let t = 0; t < shifts.length; t++) {
    const w = 48, h = 40, data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const X = x - shifts[t];
        const v = 128 + 60 * Math.sin(X / 3) * Math.cos(y / 4) +
          30 * Math.sin((X + y) / 6);
        data.fill(Math.round(v), 3 * (y * w + x), 3 * (y * w + x) + 3);
      }
    }
    const p = join(dir, `f${t}.png`);
    await Deno.writeFile(
      p,
      await encodeRgbImage({ width: w, height: h, data }, p),
    );
    paths.push(p);
  }
  const tv = await estimateApex(paths, { method: "tvl1" });
  assertEquals(tv.index, 4);
  // the mean TV-L1 magnitude tracks the imposed shift
  assert(
    Math.abs(tv.energy[4] - 3) < 0.6 && Math.abs(tv.energy[2] - 1) < 0.3,
    tv.energy.join(","),
  );
  assertEquals((await estimateApex(paths)).index, 4);
  await assertRejects(
    // deno-lint-ignore no-explicit-any
    () => estimateApex(paths, { method: "fancy" as any }),
    'apex method must be "difference" or "tvl1"',
  );
});

Deno.test("CASME II: records from the coding sheet, apex '/' estimated, errors name sheet and row", async () => {
  const root = await writeCasme2Fixture(await tmp());
  const estimated: string[] = [];
  const recs = await loadCasme2(root, {
    onApexEstimated: (id, f) => estimated.push(`${id}:${basename(f)}`),
  });
  assertEquals(recs.map((r) => r.id), [
    "casme2/sub01/EP02_01f",
    "casme2/sub01/EP03_02",
    "casme2/sub02/EP01_11f",
    "casme2/sub02/EP04_01",
  ]);
  assertEquals(recs.map((r) => r.subject), [
    "casme2/sub01",
    "casme2/sub01",
    "casme2/sub02",
    "casme2/sub02",
  ]);
  assertEquals(recs.map((r) => r.label), [
    "happiness",
    "repression",
    "disgust",
    "others",
  ]);
  const r0 = recs[0].frames!;
  assertEquals([basename(r0.onset), basename(r0.apex), basename(r0.offset!)], [
    "img10.jpg",
    "img13.jpg",
    "img16.jpg",
  ]);
  assertEquals(estimated, ["casme2/sub01/EP03_02:img44.jpg"]);
  assert(recs[1].apexEstimated && !recs[0].apexEstimated);
  // a missing frame → error naming the sheet row and the folder
  await Deno.remove(join(root, "CASME2_RAW_selected/sub02/EP01_11f/img7.jpg"));
  const e = await assertRejects(() => loadCasme2(root), "row 4");
  assert(
    e.message.includes("frame 7 not found") && e.message.includes("EP01_11f"),
    e.message,
  );
  await Deno.remove(join(root, "CASME2_RAW_selected/sub02"), {
    recursive: true,
  });
  await assertRejects(() => loadCasme2(root), "does not exist");
});

Deno.test("CASME II: a sheet without the expected columns is rejected by name", async () => {
  const root = await tmp();
  await writeXlsx(join(root, "CASME2-coding-x.xlsx"), ["Subject", "Filename"], [
    [1, "EP01"],
  ]);
  await assertRejects(() => loadCasme2(root), '"OnsetFrame"');
  await assertRejects(
    async () => loadCasme2(await tmp()),
    "no CASME II coding sheet",
  );
});

Deno.test("SAMM: header below title rows, padded frame numbers, apex -1 estimated", async () => {
  const root = await writeSammFixture(await tmp());
  const recs = await loadSamm(root);
  assertEquals(recs.map((r) => [r.id, r.subject, r.label, r.apexEstimated]), [
    ["samm/006/006_1_2", "samm/006", "happiness", false],
    ["samm/011/011_2_3", "samm/011", "anger", true],
    ["samm/011/011_3_1", "samm/011", "surprise", false],
  ]);
  assertEquals(basename(recs[0].frames!.apex), "006_05566.jpg");
  assertEquals(basename(recs[1].frames!.apex), "011_00102.jpg");
  await Deno.writeFile(
    join(root, "SAMM/011/011_2_3/011_00103.jpg"),
    new Uint8Array([0, 1, 2]),
  );
  const e = await assertRejects(() => loadSamm(root), "011_00103.jpg");
  assert(e.message.includes("cannot decode"), e.message);
});

Deno.test("SAMM: the table may sit on a later worksheet", async () => {
  const root = await writeSammFixture(await tmp());
  await writeXlsx(
    join(root, "SAMM_Micro_FACS_Codes_v2.xlsx"),
    [
      "Subject",
      "Filename",
      "Onset Frame",
      "Apex Frame",
      "Offset Frame",
      "Estimated Emotion",
    ],
    [["006", "006_1_2", 5562, 5566, 5568, "Contempt"]],
    [],
    true,
  );
  const recs = await loadSamm(root);
  assertEquals(recs.map((r) => [r.id, r.label]), [[
    "samm/006/006_1_2",
    "contempt",
  ]]);
});

Deno.test("SMIC-HS: BMP clips by class folder, apex estimated, unknown class folder rejected", async () => {
  const root = await writeSmicFixture(await tmp());
  const recs = await loadSmic(root);
  assertEquals(recs.map((r) => [r.id, r.subject, r.label]), [
    ["smic/s01/s1_ne_01", "smic/s01", "negative"],
    ["smic/s01/s1_po_02", "smic/s01", "positive"],
    ["smic/s03/s3_sur_01", "smic/s03", "surprise"],
  ]);
  assertEquals(recs.map((r) => basename(r.frames!.apex)), [
    "image000110.bmp",
    "image000022.bmp",
    "image000004.bmp",
  ]);
  assertEquals(basename(recs[0].frames!.onset), "image000106.bmp");
  assertEquals((await loadSmic(join(root, "HS"))).length, 3);
  await Deno.mkdir(join(root, "HS/s3/micro/neutral/s3_x"), { recursive: true });
  await assertRejects(
    () => loadSmic(root),
    'unknown SMIC class folder "neutral"',
  );
});

Deno.test("DFME: split CSVs, frame numbers or names, label/subject errors name the line", async () => {
  const root = await writeDfmeFixture(await tmp());
  const recs = await loadDfme(root);
  assertEquals(recs.map((r) => [r.id, r.subject, r.split, r.label]), [
    ["dfme/c001", "dfme/p01", "train", "happiness"],
    ["dfme/c002", "dfme/p01", "train", "fear"],
    ["dfme/c003", "dfme/p02", "train", "contempt"],
    ["dfme/c004", "dfme/p03", "testA", "anger"],
    ["dfme/c005", "dfme/p04", "testB", "surprise"],
  ]);
  assertEquals(basename(recs[3].frames!.apex), "002.jpg");
  assertEquals(basename(recs[2].frames!.offset!), "006.jpg");
  const testB = join(root, "testB.csv");
  await Deno.writeTextFile(
    testB,
    "sample,subject,onset,apex,label\nc005,p04,1,3,joy\n",
  );
  await assertRejects(
    () => loadDfme(root),
    `${testB} line 2: unknown label "joy"`,
  );
  await Deno.writeTextFile(
    testB,
    "sample,subject,onset,apex,label\nc005,p01,1,3,fear\n",
  );
  await assertRejects(
    () => loadDfme(root),
    'subject "p01" is in both train and testB',
  );
  await Deno.writeTextFile(
    testB,
    "sample,subject,onset,apex,label\nc005,p04,1,9,fear\n",
  );
  await assertRejects(() => loadDfme(root), "frame 9 not found");
  await assertRejects(async () => loadDfme(await tmp()), "no split file found");
  await assertRejects(() => loadDfme("/nonexistent/dfme"), "/nonexistent/dfme");
});

Deno.test("MEGC2019 composite: CSV over the three corpora with class names, indices and emotions", async () => {
  const root = await tmp();
  await writeCasme2Fixture(join(root, "casme2"));
  await writeSammFixture(join(root, "samm"));
  await writeSmicFixture(join(root, "smic"));
  const csv = join(root, "megc2019.csv");
  await Deno.writeTextFile(
    csv,
    [
      "dataset,sub,filename_o,label",
      "smic,s01,s1_ne_01,negative",
      "CASME II,sub01,EP02_01f,1",
      "casme2,02,EP01_11f,disgust",
      "SAMM,006,006_1_2,positive",
      "samm,11,011_3_1,2",
    ].join("\n") + "\n",
  );
  const recs = await loadMegc2019(root);
  assertEquals(recs.map((r) => [r.id, r.subject, r.source, r.label]), [
    ["casme2/sub01/EP02_01f", "casme2/sub01", "casme2", "positive"],
    ["casme2/sub02/EP01_11f", "casme2/sub02", "casme2", "negative"],
    ["samm/006/006_1_2", "samm/006", "samm", "positive"],
    ["samm/011/011_3_1", "samm/011", "samm", "surprise"],
    ["smic/s01/s1_ne_01", "smic/s01", "smic", "negative"],
  ]);
  await Deno.writeTextFile(
    csv,
    "dataset,sub,filename_o,label\ncasme2,sub01,EP09_09,negative\n",
  );
  await assertRejects(
    () => loadMegc2019(root),
    `${csv} line 2: clip EP09_09 of subject sub01 not found`,
  );
  await Deno.writeTextFile(
    csv,
    "dataset,sub,filename_o,label\ncasme2,sub02,EP04_01,others\n",
  );
  await assertRejects(
    () => loadMegc2019(root),
    "excluded from the MEGC2019 composite",
  );
  await Deno.writeTextFile(
    csv,
    "dataset,sub,filename_o,label\ncasme2,sub02,EP01_11f,7\n",
  );
  await assertRejects(() => loadMegc2019(root), "class index 7 out of range");
});

Deno.test("MEGC2019 composite without a CSV maps emotions by the table and drops protocol-excluded ones", async () => {
  const root = await tmp();
  await writeCasme2Fixture(join(root, "casme2"));
  await writeSammFixture(join(root, "samm"));
  await writeSmicFixture(join(root, "smic"));
  const recs = await loadMegc2019(root);
  // casme2 'others' is excluded; all 3 samm and 3 smic clips are kept
  assertEquals(recs.length, 3 + 3 + 3);
  assertEquals(
    recs.filter((r) => r.source === "casme2").map((r) => r.label),
    ["positive", "negative", "negative"],
  );
  assertEquals(
    recs.find((r) => r.id === "samm/011/011_2_3")!.label,
    "negative",
  );
  assertEquals(new Set(recs.map((r) => r.subject)).size, 2 + 2 + 2);
  assertThrows(
    () => toClass3("samm", "Joy", "sheet.xlsx row 9"),
    'sheet.xlsx row 9: unknown samm emotion "Joy"',
  );
});

Deno.test("MEGC2019 composite: generic clip layout with frame numbers in the CSV", async () => {
  const root = await tmp();
  const img = (n: number) => `f${n}.png`;
  await writeClip(
    join(root, "synthetic-smic", "a1", "clip1"),
    [1, 2, 3, 4].map(img),
    2,
  );
  await writeClip(
    join(root, "synthetic-samm", "b7", "clip2"),
    [1, 2, 3, 4, 5].map(img),
    3,
  );
  await Deno.writeTextFile(
    join(root, "megc2019.csv"),
    "dataset,sub,filename_o,label,onset_frame,apex_frame,offset_frame\n" +
      "synthetic-smic,a1,clip1,surprise,1,2,4\nsynthetic-samm,b7,clip2,negative,1,,\n",
  );
  const recs = await loadMegc2019(root);
  assertEquals(
    recs.map((
      r,
    ) => [r.id, r.subject, r.label, basename(r.frames!.apex), r.apexEstimated]),
    [
      [
        "synthetic-samm/b7/clip2",
        "synthetic-samm/b7",
        "negative",
        "f4.png",
        true,
      ],
      [
        "synthetic-smic/a1/clip1",
        "synthetic-smic/a1",
        "surprise",
        "f2.png",
        false,
      ],
    ],
  );
});
