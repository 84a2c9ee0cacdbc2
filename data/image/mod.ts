/**
 * Image I/O and geometry for the preprocessing pipeline: decoding frames
 * (JPEG/PNG via `sharp`, BMP via `bmp-js`) to RGB bytes or grey float32, and
 * OpenCV-compatible resizing, cropping and affine warping.
 *
 * @module
 */
export {
  decodeRgbImage,
  encodeRgbImage,
  type GreyImage,
  greyToRgb,
  IMAGE_EXTENSIONS,
  readGreyImage,
  readRgbImage,
  type RgbImage,
  rgbToGrey,
} from "./image.ts";
export {
  type Affine,
  cropGrey,
  resizeArea,
  resizeBilinear,
  resizeGrey,
  warpAffine,
} from "./resize.ts";
