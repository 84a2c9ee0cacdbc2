import { join } from "node:path";
import { tempDir } from "./testdata/tmp.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "./testdata/asserts.ts";
import {
  writeCasme2Fixture,
  writeSammFixture,
  writeSmicFixture,
} from "./testdata/corpora.ts";
import {
  CLASSES_3,
  datasetInfo,
  EMOTIONS_7,
  listDatasets,
  loadCorpusRecords,
  loadFlowDataset,
} from "./mod.ts";

Deno.test("listDatasets names every dataset with its classes; unknown names list the known ones", async () => {
  const names = listDatasets().map((d) => d.name);
  assertEquals(names, [
    "synthetic-dfme",
    "synthetic-3db",
    "dfme",
    "megc2019",
    "casme2",
    "samm",
    "smic",
  ]);
  assertEquals(datasetInfo("dfme").classes, EMOTIONS_7);
  assertEquals(datasetInfo("megc2019").classes, CLASSES_3);
  assertThrows(
    () => datasetInfo("casme3"),
    'unknown dataset "casme3" (known: synthetic-dfme, synthetic-3db, dfme',
  );
  await assertRejects(
    () => loadFlowDataset({ name: "casme3", imageSize: 32, channels: "uv" }),
    "known: synthetic-dfme",
  );
});

Deno.test("real corpora need an existing root and known options", async () => {
  await assertRejects(
    () => loadFlowDataset({ name: "samm", imageSize: 32, channels: "uv" }),
    "give its root folder",
  );
  await assertRejects(
    () =>
      loadFlowDataset({
        name: "samm",
        root: "/no/such/samm",
        imageSize: 32,
        channels: "uv",
      }),
    "root /no/such/samm does not exist",
  );
  const root = await writeSammFixture(await tempDir());
  await assertRejects(
    () =>
      loadCorpusRecords({
        name: "samm",
        root,
        imageSize: 32,
        channels: "uv",
        options: { alignment: false },
      }),
    'unknown option "alignment"',
  );
});

Deno.test("casme2 alone: MEGC2019 mapping, excluded emotions counted, flows cached per dataset", async () => {
  const dir = await tempDir();
  const root = await writeCasme2Fixture(join(dir, "casme2"));
  const { records, excluded, apexEstimated } = await loadCorpusRecords({
    name: "casme2",
    root,
    imageSize: 16,
    channels: "uv",
  });
  assertEquals(records.map((r) => r.label), [
    "positive",
    "negative",
    "negative",
  ]);
  assertEquals(excluded, [{ id: "casme2/sub02/EP04_01", emotion: "others" }]);
  assertEquals(apexEstimated, ["casme2/sub01/EP03_02"]);
  const progress: number[] = [];
  const ds = await loadFlowDataset({
    name: "casme2",
    root,
    imageSize: 16,
    channels: "uvs",
    cacheDir: join(dir, "cache"),
    options: { align: false },
  }, { workers: 0, onProgress: (d) => progress.push(d) });
  assertEquals(ds.classes, CLASSES_3);
  assertEquals(
    ds.samples.map((s) => [s.id, s.label, s.channels, s.data.length]),
    [
      ["casme2/sub01/EP02_01f", "positive", 3, 16 * 16 * 3],
      ["casme2/sub01/EP03_02", "negative", 3, 16 * 16 * 3],
      ["casme2/sub02/EP01_11f", "negative", 3, 16 * 16 * 3],
    ],
  );
  assertEquals(progress, [1, 2, 3]);
  assert(
    ds.description.includes("1 excluded by the protocol (others 1)"),
    ds.description,
  );
  assert(ds.description.includes("apex estimated for 1"), ds.description);
  const files = [...Deno.readDirSync(join(dir, "cache", "casme2"))];
  assertEquals(files.length, 3);
});

Deno.test("samm and smic alone map to the 3 classes; smic apexes are all estimated", async () => {
  const dir = await tempDir();
  const samm = await loadCorpusRecords({
    name: "samm",
    root: await writeSammFixture(join(dir, "samm")),
    imageSize: 16,
    channels: "uv",
  });
  assertEquals(samm.records.map((r) => r.label), [
    "positive",
    "negative",
    "surprise",
  ]);
  const smic = await loadCorpusRecords({
    name: "smic",
    root: await writeSmicFixture(join(dir, "smic")),
    imageSize: 16,
    channels: "uv",
  });
  assertEquals(smic.records.map((r) => r.label), [
    "negative",
    "positive",
    "surprise",
  ]);
  assertEquals(smic.apexEstimated.length, 3);
});

Deno.test("synthetic names dispatch to the synthetic benchmark", async () => {
  const ds = await loadFlowDataset({
    name: "synthetic-3db",
    imageSize: 16,
    channels: "uv",
    cacheDir: await tempDir(),
    options: { subjects: 4, samplesPerSubject: 1, renderSize: 32 },
  });
  assertEquals(ds.classes, CLASSES_3);
  assert(
    ds.samples.length > 0 &&
      ds.samples.every((s) => s.data.length === 16 * 16 * 2),
  );
});
