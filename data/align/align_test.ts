import sharp from "sharp";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../testdata/asserts.ts";
import {
  cropGrey,
  readRgbImage,
  resizeArea,
  type RgbImage,
  rgbToGrey,
} from "../image/mod.ts";
import {
  alignmentTransform,
  alignPair,
  centreCropPair,
  createFaceApiDetector,
  eyeCentres,
  type FaceLandmarks,
  type Point,
} from "./mod.ts";

const facePath = new URL("./testdata/face.jpg", import.meta.url).pathname;

/** A crude 68-point template: jaw, brows, nose, eyes, mouth in iBUG order. */
function template(angleDeg: number, c: Point, scale: number): FaceLandmarks {
  const pts: Point[] = [];
  for (let i = 0; i < 17; i++) {
    pts.push({ x: -1 + i / 8, y: 0.3 + 0.6 * Math.sin((i / 16) * Math.PI) });
  }
  for (let i = 0; i < 10; i++) pts.push({ x: -0.8 + i * 0.18, y: -0.5 });
  for (let i = 0; i < 9; i++) {
    pts.push({ x: -0.1 + (i % 5) * 0.05, y: -0.2 + i * 0.05 });
  }
  for (const ex of [-0.45, 0.45]) {
    for (let i = 0; i < 6; i++) {
      const a = (i / 6) * 2 * Math.PI;
      pts.push({ x: ex + 0.15 * Math.cos(a), y: -0.3 + 0.05 * Math.sin(a) });
    }
  }
  for (let i = 0; i < 20; i++) {
    const a = (i / 20) * 2 * Math.PI;
    pts.push({ x: 0.35 * Math.cos(a), y: 0.5 + 0.1 * Math.sin(a) });
  }
  const r = (angleDeg * Math.PI) / 180, cos = Math.cos(r), sin = Math.sin(r);
  return {
    score: 1,
    points: pts.map((p) => ({
      x: c.x + scale * (cos * p.x - sin * p.y),
      y: c.y + scale * (sin * p.x + cos * p.y),
    })),
  };
}

/** Maps a source point into crop coordinates by inverting the affine map. */
function toCrop(inv: readonly number[], p: Point): Point {
  const [a, b, c, d, e, f] = inv;
  const det = a * e - b * d, x = p.x - c, y = p.y - f;
  return { x: (e * x - b * y) / det, y: (-d * x + a * y) / det };
}

Deno.test("alignmentTransform removes a known roll: eyes level and centred, all landmarks inside the crop", () => {
  for (const deg of [-25, 0, 20]) {
    const lm = template(deg, { x: 200, y: 150 }, 80);
    const { inverse, side, angle } = alignmentTransform(lm, {
      size: 64,
      margin: 0.1,
      top: 0.1,
    });
    assert(Math.abs((angle * 180) / Math.PI - deg) < 1e-9);
    const { left, right } = eyeCentres(lm);
    const l = toCrop(inverse, left), r = toCrop(inverse, right);
    assert(Math.abs(l.y - r.y) < 1e-9, `eyes not level at ${deg}°`);
    assert(Math.abs((l.x + r.x) / 2 - side / 2) < 1e-9, "eyes not centred");
    for (const p of lm.points) {
      const q = toCrop(inverse, p);
      assert(q.x >= 0 && q.x <= side && q.y >= 0 && q.y <= side);
    }
  }
  assertThrows(
    () =>
      alignmentTransform(template(0, { x: 0, y: 0 }, 10), {
        size: 8,
        margin: 2,
      }),
    "margin",
  );
  assertThrows(() => eyeCentres({ score: 1, points: [] }), "68 landmarks");
});

Deno.test("centreCropPair takes the central square and area-resizes it", () => {
  const img: RgbImage = {
    width: 40,
    height: 20,
    data: Uint8Array.from({ length: 2400 }, (_, i) => (i * 7) % 251),
  };
  const { onset, apex } = centreCropPair(img, img, 10);
  const want = resizeArea(cropGrey(rgbToGrey(img), 10, 0, 20, 20), 10, 10);
  assertEquals(Array.from(onset.data), Array.from(want.data));
  assertEquals(onset.data, apex.data);
  assertThrows(
    () =>
      centreCropPair(img, {
        ...img,
        width: 20,
        data: img.data.subarray(0, 1200),
      }, 8),
    "frame sizes differ",
  );
});

Deno.test("face-api (wasm, weights from the npm package) finds the face and its eyes", async () => {
  const det = await createFaceApiDetector();
  const img = await readRgbImage(facePath);
  const lm = await det.detect(img);
  assert(lm !== null, "no face");
  assert(lm.score > 0.8, `score ${lm.score}`);
  assertEquals(lm.points.length, 68);
  const { left, right } = eyeCentres(lm);
  assert(left.x < right.x);
  const mouth = lm.points[62];
  assert(
    mouth.y > left.y + 10 && mouth.y > right.y + 10,
    "mouth below the eyes",
  );
  for (const p of lm.points) {
    assert(p.x > -5 && p.x < img.width + 5 && p.y > -5 && p.y < img.height + 5);
  }
});

Deno.test("alignment undoes an in-plane rotation of the frame", async () => {
  const det = await createFaceApiDetector();
  const img = await readRgbImage(facePath);
  const bytes = await Deno.readFile(facePath);
  const { data, info } = await sharp(bytes).rotate(15, {
    background: "#808080",
  }).removeAlpha().raw()
    .toBuffer({ resolveWithObject: true });
  const rot: RgbImage = {
    width: info.width,
    height: info.height,
    data: new Uint8Array(data),
  };
  const lm0 = (await det.detect(img))!, lm1 = (await det.detect(rot))!;
  const a0 = alignmentTransform(lm0, { size: 48 }).angle,
    a1 = alignmentTransform(lm1, { size: 48 }).angle;
  const d = ((a1 - a0) * 180) / Math.PI;
  assert(Math.abs(d - 15) < 4, `estimated roll change ${d}°`);
  const A = (await alignPair(img, img, det, { size: 48 })).onset;
  const B = (await alignPair(rot, rot, det, { size: 48 })).onset;
  // the two aligned crops show the same face: high correlation
  const n = A.data.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) (ma += A.data[i]), (mb += B.data[i]);
  ma /= n, mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = A.data[i] - ma, y = B.data[i] - mb;
    sab += x * y, saa += x * x, sbb += y * y;
  }
  const corr = sab / Math.sqrt(saa * sbb);
  assert(corr > 0.85, `correlation ${corr}`);
});

Deno.test("alignPair on a frame without a face names the file", async () => {
  const det = await createFaceApiDetector();
  const blank: RgbImage = {
    width: 64,
    height: 64,
    data: new Uint8Array(64 * 64 * 3).fill(128),
  };
  await assertRejects(
    () =>
      alignPair(blank, blank, det, { size: 32 }, {
        onset: "sub01/img1.jpg",
        apex: "sub01/img5.jpg",
      }),
    "no face found in sub01/img1.jpg",
  );
});
