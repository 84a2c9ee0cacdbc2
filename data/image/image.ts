/**
 * Image decoding to RGB bytes and grey float32, as the preprocessing
 * pipeline needs them. JPEG, PNG, TIFF and WebP are decoded with `sharp`
 * (libvips); BMP (SMIC-HS frames) with `bmp-js`, since libvips cannot read BMP.
 *
 * @module
 */
import sharp from "sharp";
import bmp from "bmp-js";
import { extname } from "node:path";
import { Buffer } from "node:buffer";

/** An 8-bit RGB image, interleaved row-major (`data.length = 3·w·h`). */
export interface RgbImage {
  /** width in pixels. */
  width: number;
  /** height in pixels. */
  height: number;
  /** R, G, B bytes per pixel, row-major. */
  data: Uint8Array;
}

/** A single-channel float32 image, row-major (`data.length = w·h`). */
export interface GreyImage {
  /** width in pixels. */
  width: number;
  /** height in pixels. */
  height: number;
  /** intensities; decoded frames are on the 0..255 scale. */
  data: Float32Array;
}

/** File extensions {@link readRgbImage} can decode. */
export const IMAGE_EXTENSIONS: readonly string[] = [
  ".jpg",
  ".jpeg",
  ".png",
  ".bmp",
  ".tif",
  ".tiff",
  ".webp",
];

/**
 * Decodes an encoded image (bytes) to RGB. `name` is used for the format
 * choice (by extension) and in error messages.
 */
export async function decodeRgbImage(
  bytes: Uint8Array,
  name: string,
): Promise<RgbImage> {
  const ext = extname(name).toLowerCase();
  if (!IMAGE_EXTENSIONS.includes(ext)) {
    throw new Error(
      `image ${name}: unsupported extension "${ext}" (supported: ${
        IMAGE_EXTENSIONS.join(", ")
      })`,
    );
  }
  try {
    if (ext === ".bmp") {
      // bmp-js decodes to ABGR bytes.
      const decoded = bmp.decode(toBuffer(bytes));
      const { width, height } = decoded;
      const src = decoded.data as Uint8Array;
      const data = new Uint8Array(width * height * 3);
      for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
        data[j] = src[i + 3];
        data[j + 1] = src[i + 2];
        data[j + 2] = src[i + 1];
      }
      return { width, height, data };
    }
    const { data, info } = await sharp(bytes).removeAlpha().toColourspace(
      "srgb",
    ).raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) {
      throw new Error(
        `expected 3 channels after decoding, got ${info.channels}`,
      );
    }
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  } catch (e) {
    throw new Error(
      `image ${name}: cannot decode (${e instanceof Error ? e.message : e})`,
    );
  }
}

/** Reads and decodes an image file to RGB; errors name the file. */
export async function readRgbImage(path: string): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(
      `image ${path}: cannot read (${e instanceof Error ? e.message : e})`,
    );
  }
  return await decodeRgbImage(bytes, path);
}

/**
 * RGB → grey exactly as OpenCV's `cvtColor(RGB2GRAY)` on 8-bit input
 * (15-bit fixed-point BT.601 weights 0.299, 0.587, 0.114, rounded, as its SIMD path), as float32 0..255.
 */
export function rgbToGrey(img: RgbImage): GreyImage {
  const n = img.width * img.height;
  if (img.data.length !== n * 3) {
    throw new Error(
      `rgbToGrey: data length ${img.data.length} ≠ 3·${img.width}·${img.height}`,
    );
  }
  const out = new Float32Array(n);
  const d = img.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[i] = (d[j] * 9798 + d[j + 1] * 19235 + d[j + 2] * 3735 + 16384) >> 15;
  }
  return { width: img.width, height: img.height, data: out };
}

/** Reads an image file and converts it to grey float32 (0..255). */
export async function readGreyImage(path: string): Promise<GreyImage> {
  return rgbToGrey(await readRgbImage(path));
}

/**
 * Encodes an RGB image to the format given by `name`'s extension (JPEG, PNG
 * via sharp; BMP via bmp-js, 24-bit). Used to write corpora fixtures.
 */
export async function encodeRgbImage(
  img: RgbImage,
  name: string,
  options: { quality?: number } = {},
): Promise<Uint8Array> {
  const ext = extname(name).toLowerCase();
  if (ext === ".bmp") {
    const abgr = new Uint8Array(img.width * img.height * 4);
    for (let i = 0, j = 0; j < img.data.length; i += 4, j += 3) {
      abgr[i] = 255;
      abgr[i + 1] = img.data[j + 2];
      abgr[i + 2] = img.data[j + 1];
      abgr[i + 3] = img.data[j];
    }
    const enc = bmp.encode({
      data: toBuffer(abgr),
      width: img.width,
      height: img.height,
    });
    return new Uint8Array(enc.data);
  }
  const s = sharp(img.data, {
    raw: { width: img.width, height: img.height, channels: 3 },
  });
  let out;
  if (ext === ".jpg" || ext === ".jpeg") {
    out = await s.jpeg({ quality: options.quality ?? 95 }).toBuffer();
  } else if (ext === ".png") out = await s.png().toBuffer();
  else {
    throw new Error(
      `image ${name}: cannot encode extension "${ext}" (use .jpg, .png, .bmp)`,
    );
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Grey (0..255, rounded and clamped) → RGB with equal channels. */
export function greyToRgb(img: GreyImage): RgbImage {
  const n = img.width * img.height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const v = Math.max(0, Math.min(255, Math.round(img.data[i])));
    data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = v;
  }
  return { width: img.width, height: img.height, data };
}

function toBuffer(bytes: Uint8Array): Buffer {
  // bmp-js uses Node Buffer methods (readUInt32LE, …) on its input.
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
