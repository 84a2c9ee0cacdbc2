/**
 * Geometric helpers on {@link GreyImage}s: OpenCV-compatible resizing
 * (`INTER_LINEAR` and `INTER_AREA` semantics on float images), cropping and
 * bilinear affine warping with replicated borders.
 *
 * @module
 */
import type { GreyImage } from "./image.ts";

function checkImage(img: GreyImage, what: string): void {
  if (
    !Number.isInteger(img.width) || !Number.isInteger(img.height) ||
    img.width < 1 || img.height < 1
  ) {
    throw new Error(`${what}: bad image size ${img.width}×${img.height}`);
  }
  if (img.data.length !== img.width * img.height) {
    throw new Error(
      `${what}: data length ${img.data.length} ≠ ${img.width}·${img.height}`,
    );
  }
}

function checkSize(w: number, h: number, what: string): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) {
    throw new Error(`${what}: bad target size ${w}×${h}`);
  }
}

/**
 * Bilinear resize with OpenCV's `INTER_LINEAR` pixel-centre convention
 * (`sx = (dx + 0.5)·W/w − 0.5`, clamped at the borders).
 */
export function resizeBilinear(
  img: GreyImage,
  width: number,
  height: number,
): GreyImage {
  checkImage(img, "resizeBilinear");
  checkSize(width, height, "resizeBilinear");
  const { width: W, height: H, data: src } = img;
  const xs0 = new Int32Array(width), xf = new Float32Array(width);
  const sxScale = W / width, syScale = H / height;
  for (let x = 0; x < width; x++) {
    let f = (x + 0.5) * sxScale - 0.5;
    let s = Math.floor(f);
    f -= s;
    if (s < 0) (f = 0), (s = 0);
    if (s >= W - 1) (f = 0), (s = W - 1);
    xs0[x] = s;
    xf[x] = f;
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    let fy = (y + 0.5) * syScale - 0.5;
    let sy = Math.floor(fy);
    fy -= sy;
    if (sy < 0) (fy = 0), (sy = 0);
    if (sy >= H - 1) (fy = 0), (sy = H - 1);
    const r0 = sy * W, r1 = Math.min(sy + 1, H - 1) * W;
    for (let x = 0; x < width; x++) {
      const s = xs0[x], f = xf[x];
      const s1 = Math.min(s + 1, W - 1);
      const a = src[r0 + s] * (1 - f) + src[r0 + s1] * f;
      const b = src[r1 + s] * (1 - f) + src[r1 + s1] * f;
      out[y * width + x] = a * (1 - fy) + b * fy;
    }
  }
  return { width, height, data: out };
}

/** Per-destination-index source taps and weights of an area resize. */
function areaTaps(
  src: number,
  dst: number,
): { start: Int32Array; idx: number[]; w: number[] } {
  const scale = src / dst;
  const start = new Int32Array(dst + 1);
  const idx: number[] = [], w: number[] = [];
  for (let d = 0; d < dst; d++) {
    start[d] = idx.length;
    const f1 = d * scale, f2 = f1 + scale;
    const cell = Math.min(scale, src - f1);
    let s1 = Math.ceil(f1);
    let s2 = Math.floor(f2);
    s2 = Math.min(s2, src - 1);
    s1 = Math.min(s1, s2);
    if (s1 - f1 > 1e-3) idx.push(s1 - 1), w.push((s1 - f1) / cell);
    for (let s = s1; s < s2; s++) idx.push(s), w.push(1 / cell);
    if (f2 - s2 > 1e-3) {
      idx.push(s2), w.push(Math.min(Math.min(f2 - s2, 1), cell) / cell);
    }
  }
  start[dst] = idx.length;
  return { start, idx, w };
}

/**
 * Area-averaging resize (OpenCV `INTER_AREA` for shrinking: every source
 * pixel contributes in proportion to the area it covers). When the target is
 * larger than the source along an axis, OpenCV falls back to bilinear
 * interpolation, and so does this function (for the whole image).
 */
export function resizeArea(
  img: GreyImage,
  width: number,
  height: number,
): GreyImage {
  checkImage(img, "resizeArea");
  checkSize(width, height, "resizeArea");
  const { width: W, height: H, data: src } = img;
  if (width > W || height > H) return resizeBilinear(img, width, height);
  const tx = areaTaps(W, width), ty = areaTaps(H, height);
  // horizontal pass into (H × width), then vertical.
  const tmp = new Float64Array(H * width);
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let k = tx.start[x]; k < tx.start[x + 1]; k++) {
        acc += src[row + tx.idx[k]] * tx.w[k];
      }
      tmp[y * width + x] = acc;
    }
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let k = ty.start[y]; k < ty.start[y + 1]; k++) {
        acc += tmp[ty.idx[k] * width + x] * ty.w[k];
      }
      out[y * width + x] = acc;
    }
  }
  return { width, height, data: out };
}

/**
 * Resizes for downstream use: area averaging when shrinking, bilinear when
 * enlarging (the usual choice for frames and flow fields).
 */
export function resizeGrey(
  img: GreyImage,
  width: number,
  height: number,
): GreyImage {
  return width <= img.width && height <= img.height
    ? resizeArea(img, width, height)
    : resizeBilinear(img, width, height);
}

/**
 * A 2×3 affine map `[a, b, c, d, e, f]` taking OUTPUT pixel (x, y) to SOURCE
 * coordinates `(a·x + b·y + c, d·x + e·y + f)` (OpenCV's `WARP_INVERSE_MAP`).
 */
export type Affine = readonly [number, number, number, number, number, number];

/**
 * Bilinear affine warp: `out(x, y) = img(M·(x, y, 1))`, with source
 * coordinates outside the image clamped to the border (replicate).
 */
export function warpAffine(
  img: GreyImage,
  inverse: Affine,
  width: number,
  height: number,
): GreyImage {
  checkImage(img, "warpAffine");
  checkSize(width, height, "warpAffine");
  if (inverse.length !== 6 || !inverse.every(Number.isFinite)) {
    throw new Error(`warpAffine: bad affine matrix [${inverse.join(", ")}]`);
  }
  const { width: W, height: H, data: src } = img;
  const [a, b, c, d, e, f] = inverse;
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sx = a * x + b * y + c, sy = d * x + e * y + f;
      sx = Math.min(Math.max(sx, 0), W - 1);
      sy = Math.min(Math.max(sy, 0), H - 1);
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      const x1 = Math.min(x0 + 1, W - 1), y1 = Math.min(y0 + 1, H - 1);
      const fx = sx - x0, fy = sy - y0;
      const top = src[y0 * W + x0] * (1 - fx) + src[y0 * W + x1] * fx;
      const bot = src[y1 * W + x0] * (1 - fx) + src[y1 * W + x1] * fx;
      out[y * width + x] = top * (1 - fy) + bot * fy;
    }
  }
  return { width, height, data: out };
}

/** Crops the rectangle `[x, x+w) × [y, y+h)`; it must lie inside the image. */
export function cropGrey(
  img: GreyImage,
  x: number,
  y: number,
  width: number,
  height: number,
): GreyImage {
  checkImage(img, "cropGrey");
  checkSize(width, height, "cropGrey");
  if (
    !Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 ||
    x + width > img.width || y + height > img.height
  ) {
    throw new Error(
      `cropGrey: rectangle (${x}, ${y}, ${width}×${height}) outside ${img.width}×${img.height}`,
    );
  }
  const out = new Float32Array(width * height);
  for (let r = 0; r < height; r++) {
    const s = (y + r) * img.width + x;
    out.set(img.data.subarray(s, s + width), r * width);
  }
  return { width, height, data: out };
}
