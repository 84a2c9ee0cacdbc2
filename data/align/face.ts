/**
 * Face alignment for micro-expression clips.
 *
 * Landmarks come from `@vladmandic/face-api` (SSD-MobileNetV1 detector + 68
 * landmark net), loaded from the weights shipped inside the installed npm
 * package (never downloaded) and run on its node-wasm build (TF.js wasm
 * backend, wasm binaries from the installed `@tensorflow/tfjs-backend-wasm`).
 *
 * Alignment (see {@link alignmentTransform}): detect on the ONSET frame; rotate
 * about the eye midpoint so that the eye centres (means of landmarks 36–41
 * and 42–47) are horizontal; crop the square around all 68 rotated
 * landmarks, enlarged by `margin` of its side on every side (and `top`
 * more upward to keep the forehead); resample both onset and apex with the
 * SAME transform (so head pose between them stays in the flow, as in the
 * usual MER pipelines) and resize to `size` (area averaging when shrinking).
 *
 * face-api sets the TF.js backend of the isolate it runs in to `wasm`; the
 * preprocessing pipeline therefore runs it inside Workers, away from model
 * code.
 *
 * @module
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { type GreyImage, type RgbImage, rgbToGrey } from "../image/image.ts";
import { type Affine, resizeGrey, warpAffine } from "../image/resize.ts";

/** A 2-D point in source pixel coordinates. */
export interface Point {
  /** column. */
  x: number;
  /** row. */
  y: number;
}

/** One detected face: 68 landmarks (iBUG order) and the detector's score. */
export interface FaceLandmarks {
  /** the 68 points. */
  points: Point[];
  /** detection confidence 0..1. */
  score: number;
}

/** Finds the most confident face in an image, or null. */
export interface FaceDetector {
  /** Landmarks of the most confident face, or null when none is found. */
  detect(img: RgbImage): Promise<FaceLandmarks | null>;
}

/** Parameters of the alignment crop. */
export interface AlignOptions {
  /** output side in pixels. */
  size: number;
  /** extra border on every side, as a fraction of the landmark box side (default 0.1). */
  margin?: number;
  /** extra border above, as a fraction of the landmark box side (default 0.1). */
  top?: number;
}

/** Options of {@link createFaceApiDetector}. */
export interface FaceApiOptions {
  /** minimum detection score (default 0.3). */
  minConfidence?: number;
}

// deno-lint-ignore no-explicit-any
let faceApi: Promise<any> | undefined;

// deno-lint-ignore no-explicit-any
async function loadFaceApi(): Promise<any> {
  const entry = import.meta.resolve(
    "@vladmandic/face-api/dist/face-api.node-wasm.js",
  );
  // deno-lint-ignore no-explicit-any
  const mod: any = await import(
    "@vladmandic/face-api/dist/face-api.node-wasm.js"
  );
  const fa = mod.default ?? mod;
  const wasmDir = dirname(
    fileURLToPath(import.meta.resolve("@tensorflow/tfjs-backend-wasm")),
  ) + "/";
  fa.tf.setWasmPaths(wasmDir);
  if (!(await fa.tf.setBackend("wasm"))) {
    throw new Error("face-api: cannot initialise the TF.js wasm backend");
  }
  await fa.tf.ready();
  const modelDir = dirname(dirname(fileURLToPath(entry))) + "/model";
  try {
    await fa.nets.ssdMobilenetv1.loadFromDisk(modelDir);
    await fa.nets.faceLandmark68Net.loadFromDisk(modelDir);
  } catch (e) {
    throw new Error(
      `face-api: cannot load weights from ${modelDir}: ${
        e instanceof Error ? e.message : e
      }`,
    );
  }
  return fa;
}

/**
 * A detector backed by face-api's SSD-MobileNetV1 + 68-landmark nets. The
 * library and weights are loaded once per isolate.
 */
export async function createFaceApiDetector(
  options: FaceApiOptions = {},
): Promise<FaceDetector> {
  const minConfidence = options.minConfidence ?? 0.3;
  if (!(minConfidence > 0 && minConfidence < 1)) {
    throw new Error(`minConfidence must be in (0, 1), got ${minConfidence}`);
  }
  faceApi ??= loadFaceApi();
  const fa = await faceApi;
  return {
    async detect(img: RgbImage): Promise<FaceLandmarks | null> {
      const t = fa.tf.tensor3d(img.data, [img.height, img.width, 3], "int32");
      try {
        const res = await fa.detectAllFaces(
          t,
          new fa.SsdMobilenetv1Options({ minConfidence }),
        ).withFaceLandmarks();
        if (!res.length) return null;
        // deno-lint-ignore no-explicit-any
        let best: any = res[0];
        for (const r of res) {
          if (r.detection.score > best.detection.score) best = r;
        }
        return {
          // deno-lint-ignore no-explicit-any
          points: best.landmarks.positions.map((p: any) => ({
            x: p.x,
            y: p.y,
          })),
          score: best.detection.score,
        };
      } finally {
        t.dispose();
      }
    },
  };
}

function mean(points: Point[]): Point {
  let x = 0, y = 0;
  for (const p of points) (x += p.x), (y += p.y);
  return { x: x / points.length, y: y / points.length };
}

/** Centres of the eye on the image's left (36–41) and right (42–47). */
export function eyeCentres(lm: FaceLandmarks): { left: Point; right: Point } {
  if (lm.points.length !== 68) {
    throw new Error(`expected 68 landmarks, got ${lm.points.length}`);
  }
  return {
    left: mean(lm.points.slice(36, 42)),
    right: mean(lm.points.slice(42, 48)),
  };
}

/**
 * The crop geometry of an alignment: returns the inverse affine map from
 * pixel (x, y) of a `side`×`side` native-resolution crop to source
 * coordinates, the crop side in source pixels, and the roll angle removed
 * (radians, positive = the face was rotated clockwise in the image).
 */
export function alignmentTransform(
  lm: FaceLandmarks,
  options: AlignOptions,
): { inverse: Affine; side: number; angle: number } {
  const margin = options.margin ?? 0.1, top = options.top ?? 0.1;
  if (!(margin >= 0 && margin <= 1)) {
    throw new Error(`align margin must be in [0, 1], got ${margin}`);
  }
  if (!(top >= 0 && top <= 1)) {
    throw new Error(`align top must be in [0, 1], got ${top}`);
  }
  const { left, right } = eyeCentres(lm);
  const angle = Math.atan2(right.y - left.y, right.x - left.x);
  const c = { x: (left.x + right.x) / 2, y: (left.y + right.y) / 2 };
  const cos = Math.cos(angle), sin = Math.sin(angle);
  // rotated frame: q = c + R(−angle)(p − c)
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const p of lm.points) {
    const dx = p.x - c.x, dy = p.y - c.y;
    const qx = c.x + cos * dx + sin * dy, qy = c.y - sin * dx + cos * dy;
    x0 = Math.min(x0, qx), x1 = Math.max(x1, qx);
    y0 = Math.min(y0, qy), y1 = Math.max(y1, qy);
  }
  const box = Math.max(x1 - x0, y1 - y0);
  if (!(box > 1)) throw new Error("degenerate landmarks (box side ≤ 1 px)");
  const side = box * (1 + 2 * margin + top);
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2 - (box * top) / 2;
  const tlx = cx - side / 2, tly = cy - side / 2;
  // crop pixel (x, y) → q = tl + (x, y) → p = c + R(angle)(q − c)
  const ox = tlx - c.x, oy = tly - c.y;
  const inverse: Affine = [
    cos,
    -sin,
    c.x + cos * ox - sin * oy,
    sin,
    cos,
    c.y + sin * ox + cos * oy,
  ];
  return { inverse, side, angle };
}

/** Scales a crop's inverse map so that a `size`-pixel output spans `side` source pixels. */
function scaled(inverse: Affine, side: number, size: number): Affine {
  const s = side / size;
  const [a, b, c, d, e, f] = inverse;
  // output (x, y) → crop ((x + 0.5)·s − 0.5, (y + 0.5)·s − 0.5)
  const o = 0.5 * s - 0.5;
  return [a * s, b * s, a * o + b * o + c, d * s, e * s, d * o + e * o + f];
}

/**
 * Resamples a grey image through a crop transform to `size`×`size`: warped
 * at native resolution then area-averaged when the crop is larger than
 * `size`, warped directly (bilinear) otherwise.
 */
export function applyCrop(
  img: GreyImage,
  inverse: Affine,
  side: number,
  size: number,
): GreyImage {
  const native = Math.round(side);
  if (native > size) {
    const crop = warpAffine(img, scaled(inverse, side, native), native, native);
    return resizeGrey(crop, size, size);
  }
  return warpAffine(img, scaled(inverse, side, size), size, size);
}

/**
 * Aligns an onset/apex pair: landmarks on the onset frame, the same crop
 * applied to both, resized to `options.size`; returns grey float32 frames.
 * `names` are the frame files (for the error when no face is found).
 */
export async function alignPair(
  onset: RgbImage,
  apex: RgbImage,
  detector: FaceDetector,
  options: AlignOptions,
  names: { onset: string; apex: string } = { onset: "onset", apex: "apex" },
): Promise<{ onset: GreyImage; apex: GreyImage; landmarks: FaceLandmarks }> {
  if (onset.width !== apex.width || onset.height !== apex.height) {
    throw new Error(
      `frame sizes differ: ${names.onset} is ${onset.width}×${onset.height}, ${names.apex} is ${apex.width}×${apex.height}`,
    );
  }
  const lm = await detector.detect(onset);
  if (!lm) {
    throw new Error(
      `no face found in ${names.onset} (use --no-align to skip face alignment)`,
    );
  }
  const { inverse, side } = alignmentTransform(lm, options);
  return {
    onset: applyCrop(rgbToGrey(onset), inverse, side, options.size),
    apex: applyCrop(rgbToGrey(apex), inverse, side, options.size),
    landmarks: lm,
  };
}

/**
 * The no-alignment path (`--no-align`): the central square of the frame
 * (side = the shorter dimension), resized to `size`; same for both frames.
 */
export function centreCropPair(
  onset: RgbImage,
  apex: RgbImage,
  size: number,
  names: { onset: string; apex: string } = { onset: "onset", apex: "apex" },
): { onset: GreyImage; apex: GreyImage } {
  if (onset.width !== apex.width || onset.height !== apex.height) {
    throw new Error(
      `frame sizes differ: ${names.onset} is ${onset.width}×${onset.height}, ${names.apex} is ${apex.width}×${apex.height}`,
    );
  }
  const side = Math.min(onset.width, onset.height);
  const inverse: Affine = [
    1,
    0,
    (onset.width - side) / 2,
    0,
    1,
    (onset.height - side) / 2,
  ];
  return {
    onset: applyCrop(rgbToGrey(onset), inverse, side, size),
    apex: applyCrop(rgbToGrey(apex), inverse, side, size),
  };
}
