import { join } from "node:path";
import { tempDir } from "./testdata/tmp.ts";
import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertThrows,
} from "./testdata/asserts.ts";
import { encodeRgbImage, readRgbImage, type RgbImage } from "./image/mod.ts";
import { centreCropPair } from "./align/mod.ts";
import { opticalStrain, tvl1Flow } from "./flow/mod.ts";
import {
  computeFlowSample,
  preprocessRecords,
  resolvePreprocessOptions,
} from "./pipeline.ts";
import type { SampleRecord } from "./types.ts";

/** A smooth texture shifted right by `dx` pixels (sub-pixel via the formula). */
function texture(w: number, h: number, dx: number, seed: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const X = x - dx;
      const v = 128 + 50 * Math.sin(X / 3.1 + seed) * Math.cos(y / 4.3) +
        30 * Math.sin((X + y) / 5.7 + 2 * seed);
      data.fill(Math.round(v), 3 * (y * w + x), 3 * (y * w + x) + 3);
    }
  }
  return { width: w, height: h, data };
}

async function writePairs(dir: string, n: number): Promise<SampleRecord[]> {
  const recs: SampleRecord[] = [];
  for (let i = 0; i < n; i++) {
    const on = join(dir, `c${i}_on.png`), ap = join(dir, `c${i}_ap.png`);
    await Deno.writeFile(on, await encodeRgbImage(texture(40, 32, 0, i), on));
    await Deno.writeFile(ap, await encodeRgbImage(texture(40, 32, 1, i), ap));
    recs.push({
      id: `t/c${i}`,
      subject: `t/s${i % 2}`,
      source: "t",
      label: i % 2 ? "happiness" : "fear",
      frames: { onset: on, apex: ap },
    });
  }
  return recs;
}

function interiorMean(
  a: Float32Array,
  n: number,
  c: number,
  ch: number,
): number {
  let s = 0, k = 0;
  for (let y = 4; y < n - 4; y++) {
    for (let x = 4; x < n - 4; x++) (s += a[(y * n + x) * c + ch]), k++;
  }
  return s / k;
}

const opts = { imageSize: 32, channels: "uvs" as const, align: false };

Deno.test("computeFlowSample (no align) = centre crop → TV-L1 → strain, and recovers a 1 px shift", async () => {
  const dir = await tempDir();
  const [rec] = await writePairs(dir, 1);
  const s = await computeFlowSample(rec, opts);
  assertEquals([s.height, s.width, s.channels, s.data.length], [
    32,
    32,
    3,
    32 * 32 * 3,
  ]);
  assertEquals([s.id, s.subject, s.label], [rec.id, rec.subject, rec.label]);
  // reference: the same steps composed by hand
  const on = await readRgbImage(rec.frames!.onset),
    ap = await readRgbImage(rec.frames!.apex);
  const p = centreCropPair(on, ap, 32);
  const { u, v } = tvl1Flow(p.onset.data, p.apex.data, 32, 32);
  const st = opticalStrain(u, v, 32, 32);
  for (let i = 0; i < 32 * 32; i++) {
    assertEquals([s.data[3 * i], s.data[3 * i + 1], s.data[3 * i + 2]], [
      u[i],
      v[i],
      st[i],
    ]);
  }
  // crop 32 of 40×32 at scale 1: the 1 px shift stays 1 px
  const mu = interiorMean(s.data, 32, 3, 0),
    mv = interiorMean(s.data, 32, 3, 1);
  assert(
    Math.abs(mu - 1) < 0.15 && Math.abs(mv) < 0.15,
    `mean flow (${mu}, ${mv})`,
  );
});

Deno.test("flowSize ≠ imageSize rescales the vectors by imageSize/flowSize", async () => {
  const dir = await tempDir();
  const [rec] = await writePairs(dir, 1);
  const s = await computeFlowSample(rec, {
    imageSize: 16,
    flowSize: 32,
    channels: "uv",
    align: false,
  });
  assertEquals(s.data.length, 16 * 16 * 2);
  const mu = interiorMean(s.data, 16, 2, 0);
  assert(Math.abs(mu - 0.5) < 0.1, `mean u ${mu}`);
});

Deno.test("preprocessRecords: Workers give bit-identical results to serial; the cache is reused and invalidated by frame changes", async () => {
  const dir = await tempDir();
  const recs = await writePairs(dir, 4);
  const serial = await preprocessRecords(recs, {
    ...opts,
    workers: 0,
    cacheDir: null,
  });
  assertEquals(serial.stats, { cached: 0, computed: 4, workers: 0 });
  const cacheDir = join(dir, "cache");
  const progress: number[] = [];
  const par = await preprocessRecords(recs, {
    ...opts,
    workers: 2,
    cacheDir,
    cacheNamespace: "t",
    onProgress: (d) => progress.push(d),
  });
  assertEquals(par.stats, { cached: 0, computed: 4, workers: 2 });
  assertEquals(progress, [1, 2, 3, 4]);
  assertEquals(par.samples.map((s) => s.id), recs.map((r) => r.id));
  for (let i = 0; i < 4; i++) {
    assertEquals(par.samples[i].data, serial.samples[i].data);
  }
  const again = await preprocessRecords(recs, {
    ...opts,
    workers: 2,
    cacheDir,
    cacheNamespace: "t",
  });
  assertEquals(again.stats.cached, 4);
  for (let i = 0; i < 4; i++) {
    assertEquals(again.samples[i].data, serial.samples[i].data);
  }
  // a changed parameter misses the cache
  const other = await preprocessRecords(recs.slice(0, 1), {
    ...opts,
    tvl1: { warps: 3 },
    workers: 0,
    cacheDir,
    cacheNamespace: "t",
  });
  assertEquals(other.stats.cached, 0);
  assertNotEquals(other.samples[0].data, serial.samples[0].data);
  // touching a frame (new mtime) recomputes that sample only
  await Deno.utime(
    recs[2].frames!.apex,
    new Date(),
    new Date(Date.now() + 5000),
  );
  const touched = await preprocessRecords(recs, {
    ...opts,
    workers: 1,
    cacheDir,
    cacheNamespace: "t",
  });
  assertEquals(touched.stats, { cached: 3, computed: 1, workers: 1 });
  // no partial/temporary files are left behind
  const names = [...Deno.readDirSync(join(cacheDir, "t"))].map((e) => e.name);
  assert(names.every((n) => n.endsWith(".flow")), names.join(","));
});

Deno.test("preprocessRecords: an unreadable frame fails with the file name, from a Worker too", async () => {
  const dir = await tempDir();
  const recs = await writePairs(dir, 2);
  await Deno.writeTextFile(recs[1].frames!.apex, "garbage");
  for (const workers of [0, 2]) {
    await assertRejects(
      () => preprocessRecords(recs, { ...opts, workers, cacheDir: null }),
      recs[1].frames!.apex,
    );
  }
  await assertRejects(
    () =>
      preprocessRecords([{ id: "x", subject: "s", source: "t", label: "a" }], {
        ...opts,
        cacheDir: null,
      }),
    "sample x: no onset/apex frame files",
  );
});

Deno.test("resolvePreprocessOptions validates sizes, channels, fractions and TV-L1 options by name", () => {
  assertThrows(
    () => resolvePreprocessOptions({ imageSize: 3, channels: "uv" }),
    "imageSize must be",
  );
  assertThrows(
    () =>
      resolvePreprocessOptions({
        imageSize: 32,
        channels: "rgb" as unknown as "uv",
      }),
    'channels must be "uv" or "uvs"',
  );
  assertThrows(
    () =>
      resolvePreprocessOptions({ imageSize: 32, channels: "uv", margin: 3 }),
    "margin must be",
  );
  assertThrows(
    () =>
      resolvePreprocessOptions({
        imageSize: 32,
        channels: "uv",
        tvl1: { tau: -1 },
      }),
    '"tau"',
  );
  const r = resolvePreprocessOptions({ imageSize: 32, channels: "uv" });
  assertEquals([r.align, r.flowSize, r.tvl1.nscales], [true, 32, 5]);
});

Deno.test("face alignment runs inside a preprocessing Worker (face-api on wasm)", async () => {
  const dir = await tempDir();
  const face = new URL("./align/testdata/face.jpg", import.meta.url).pathname;
  const rec: SampleRecord = {
    id: "f/1",
    subject: "f/s",
    source: "f",
    label: "surprise",
    frames: { onset: face, apex: face },
  };
  const inWorker = await preprocessRecords([rec], {
    imageSize: 32,
    channels: "uv",
    workers: 1,
    cacheDir: join(dir, "c"),
  });
  const serial = await preprocessRecords([rec], {
    imageSize: 32,
    channels: "uv",
    workers: 0,
    cacheDir: null,
  });
  assertEquals(inWorker.samples[0].data, serial.samples[0].data);
  // identical frames → (near) zero flow
  let m = 0;
  for (const x of serial.samples[0].data) m = Math.max(m, Math.abs(x));
  assert(m < 1e-3, `max |flow| ${m}`);
  const blank = join(dir, "blank.png");
  await Deno.writeFile(
    blank,
    await encodeRgbImage({
      width: 64,
      height: 64,
      data: new Uint8Array(64 * 64 * 3).fill(90),
    }, blank),
  );
  await assertRejects(
    () =>
      preprocessRecords([{ ...rec, frames: { onset: blank, apex: blank } }], {
        imageSize: 32,
        channels: "uv",
        workers: 1,
        cacheDir: null,
      }),
    `no face found in ${blank}`,
  );
});
