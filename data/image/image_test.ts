import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../testdata/asserts.ts";
import {
  cropGrey,
  decodeRgbImage,
  encodeRgbImage,
  type GreyImage,
  readGreyImage,
  readRgbImage,
  resizeArea,
  resizeBilinear,
  rgbToGrey,
  warpAffine,
} from "./mod.ts";

const dir = new URL("./testdata/", import.meta.url).pathname;
interface Plane {
  width: number;
  height: number;
  data: number[];
}
const fx = JSON.parse(await Deno.readTextFile(dir + "opencv_fixture.json")) as {
  width: number;
  height: number;
  grey: number[];
  linear: Plane[];
  area: Plane[];
  areaInt: Plane;
  rotate: { forward: number[]; data: number[] };
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertEquals(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function fixtureGrey(): Promise<GreyImage> {
  return await readGreyImage(dir + "rgb.png");
}

Deno.test("PNG and BMP decode to the same pixels and grey equals OpenCV RGB2GRAY exactly", async () => {
  const png = await readRgbImage(dir + "rgb.png");
  const bmp = await readRgbImage(dir + "rgb.bmp");
  assertEquals([png.width, png.height], [fx.width, fx.height]);
  assertEquals(bmp.data, png.data);
  assertEquals(Array.from(rgbToGrey(png).data), fx.grey);
});

Deno.test("resizeBilinear matches cv2.resize INTER_LINEAR on float32 within 1e-3", async () => {
  const g = await fixtureGrey();
  for (const ref of fx.linear) {
    const r = resizeBilinear(g, ref.width, ref.height);
    assert(maxAbsDiff(r.data, ref.data) < 1e-3, `${ref.width}×${ref.height}`);
  }
});

Deno.test("resizeArea matches cv2.resize INTER_AREA (fractional and integer factors) within 1e-3", async () => {
  const g = await fixtureGrey();
  for (const ref of fx.area) {
    const r = resizeArea(g, ref.width, ref.height);
    assert(maxAbsDiff(r.data, ref.data) < 1e-3, `${ref.width}×${ref.height}`);
  }
  const g2 = cropGrey(g, 0, 0, 36, 28);
  const r = resizeArea(g2, fx.areaInt.width, fx.areaInt.height);
  assert(maxAbsDiff(r.data, fx.areaInt.data) < 1e-3);
});

Deno.test("warpAffine rotation matches cv2.warpAffine (replicate border) within OpenCV's 1/32-pixel table error", async () => {
  const g = await fixtureGrey();
  // OpenCV's forward matrix maps source → destination; invert it.
  const [a, b, c, d, e, f] = fx.rotate.forward;
  const det = a * e - b * d;
  const inv = [
    e / det,
    -b / det,
    (b * f - c * e) / det,
    -d / det,
    a / det,
    (c * d - a * f) / det,
  ] as const;
  const r = warpAffine(g, inv, g.width, g.height);
  // OpenCV quantises the sub-pixel position to 1/32: allow a few grey levels.
  const diff = maxAbsDiff(r.data, fx.rotate.data);
  assert(diff < 4, `max diff ${diff}`);
  let mean = 0;
  for (let i = 0; i < r.data.length; i++) {
    mean += Math.abs(r.data[i] - fx.rotate.data[i]);
  }
  assert(mean / r.data.length < 0.5);
});

Deno.test("warpAffine with an integer translation is an exact shift", () => {
  const img: GreyImage = {
    width: 5,
    height: 4,
    data: Float32Array.from({ length: 20 }, (_, i) => i * 3),
  };
  const r = warpAffine(img, [1, 0, 1, 0, 1, 2], 3, 2);
  assertEquals(Array.from(r.data), [11, 12, 13, 16, 17, 18].map((v) => v * 3));
});

Deno.test("JPEG round trip through encode/decode stays close; bad bytes name the file", async () => {
  const png = await readRgbImage(dir + "rgb.png");
  const jpg = await encodeRgbImage(png, "x.jpg", { quality: 100 });
  const back = await decodeRgbImage(jpg, "x.jpg");
  // JPEG subsamples chroma; luma survives quality 100 almost exactly.
  const g0 = rgbToGrey(png).data, g1 = rgbToGrey(back).data;
  let mae = 0;
  for (let i = 0; i < g0.length; i++) mae += Math.abs(g0[i] - g1[i]);
  assert(mae / g0.length < 2, `grey MAE ${mae / g0.length}`);
  await assertRejects(
    () => decodeRgbImage(new Uint8Array([1, 2, 3]), "broken.jpg"),
    "broken.jpg",
  );
  await assertRejects(
    () => decodeRgbImage(new Uint8Array([1, 2, 3]), "broken.bmp"),
    "broken.bmp",
  );
  await assertRejects(
    () => readRgbImage(dir + "missing.png"),
    "missing.png",
  );
  await assertRejects(() => decodeRgbImage(png.data, "a.gif"), ".gif");
});

Deno.test("size validation names the function and the size", () => {
  const img: GreyImage = { width: 2, height: 2, data: new Float32Array(4) };
  assertThrows(
    () => resizeBilinear(img, 0, 3),
    "resizeBilinear: bad target size 0×3",
  );
  assertThrows(() => cropGrey(img, 1, 1, 2, 2), "outside 2×2");
  assertThrows(
    () => resizeArea({ width: 3, height: 3, data: new Float32Array(4) }, 1, 1),
    "data length",
  );
});
