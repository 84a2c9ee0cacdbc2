/**
 * Face alignment: landmarks with `@vladmandic/face-api` (weights from the
 * installed npm package, wasm backend), roll correction by the eye centres,
 * a square landmark crop applied identically to onset and apex, and the
 * `--no-align` centre-crop alternative.
 *
 * @module
 */
export {
  alignmentTransform,
  type AlignOptions,
  alignPair,
  applyCrop,
  centreCropPair,
  createFaceApiDetector,
  eyeCentres,
  type FaceApiOptions,
  type FaceDetector,
  type FaceLandmarks,
  type Point,
} from "./face.ts";
export type { Affine, GreyImage, RgbImage } from "../image/mod.ts";
