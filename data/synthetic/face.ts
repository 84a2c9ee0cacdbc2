/**
 * Procedural grey-level faces: subject geometry and appearance, and the
 * renderer that draws a face under a head pose and an action-unit
 * displacement field.
 *
 * The face is an intensity function of canonical coordinates (see
 * action_units.ts): an oval of textured, shaded skin with eyes, brows, nose,
 * nasolabial folds and lips, all with soft (about one pixel) edges so that
 * warping it is smooth. A frame is rendered by mapping each pixel to
 * canonical coordinates through the inverse head pose, undoing the
 * action-unit warp (Newton inversion of q0 + d(q0) = q), and sampling
 * the intensity there; then a lighting gradient fixed in the image and
 * Gaussian sensor noise are applied and the result is quantised to 8 bits.
 *
 * @module
 */

import {
  displacementAt,
  type FaceGeometry,
  invertWarp,
  type Kernel,
} from "./action_units.ts";
import type { AleaRng } from "./rng.ts";

/** Skin texture: value noise on a lattice over canonical coordinates. */
export interface Texture {
  /** lattice cell size (canonical units) of each octave. */
  cells: number[];
  /** amplitude (grey levels) of each octave. */
  amps: number[];
  /** lattice values per octave, row-major `size × size`, N(0,1). */
  lattices: Float32Array[];
  /** lattice side length. */
  sizes: number[];
}

/** What a subject's face looks like apart from its geometry. */
export interface FaceAppearance {
  /** skin albedo (grey level). */
  skin: number;
  /** background grey level. */
  background: number;
  /** darkening of the brows (grey levels). */
  browDark: number;
  /** darkening of the lips. */
  lipDark: number;
  /** darkening along the mouth line. */
  mouthLineDark: number;
  /** darkening of the nostrils. */
  nostrilDark: number;
  /** darkening of the nasolabial folds. */
  foldDark: number;
  /** iris grey level. */
  iris: number;
  /** sclera brightening. */
  sclera: number;
  /** skin texture. */
  texture: Texture;
}

/** Head pose: canonical → image is p = centre + scale·R(roll)·q. */
export interface HeadPose {
  /** face centre x (pixels). */
  cx: number;
  /** face centre y (pixels). */
  cy: number;
  /** pixels per canonical unit. */
  scale: number;
  /** radians. */
  roll: number;
}

/** Imaging conditions of one frame. */
export interface Imaging {
  /** lighting gradient strength (relative change across the frame). */
  lightStrength: number;
  /** lighting gradient direction (radians). */
  lightAngle: number;
  /** Gaussian sensor noise standard deviation (grey levels). */
  noiseSd: number;
}

/** Draws a subject's face geometry. */
export function sampleGeometry(rng: AleaRng): FaceGeometry {
  return {
    faceRy: rng.uniform(1.2, 1.34),
    eyeX: rng.uniform(0.35, 0.42),
    eyeY: rng.uniform(-0.24, -0.14),
    eyeRx: rng.uniform(0.14, 0.18),
    eyeRy: rng.uniform(0.06, 0.085),
    irisR: rng.uniform(0.055, 0.07),
    browGap: rng.uniform(0.17, 0.24),
    browLen: rng.uniform(0.3, 0.4),
    browThick: rng.uniform(0.035, 0.055),
    browArch: rng.uniform(0.02, 0.07),
    browTilt: rng.uniform(-0.04, 0.05),
    noseY: rng.uniform(0.22, 0.32),
    noseW: rng.uniform(0.075, 0.11),
    mouthY: rng.uniform(0.54, 0.64),
    mouthHalfW: rng.uniform(0.24, 0.32),
    lipUpper: rng.uniform(0.04, 0.065),
    lipLower: rng.uniform(0.05, 0.08),
  };
}

/** Draws a subject's appearance (albedo, contrasts, skin texture). */
export function sampleAppearance(rng: AleaRng): FaceAppearance {
  const cells = [0.22, 0.09];
  const amps = [rng.uniform(4, 8), rng.uniform(3, 6)];
  const sizes: number[] = [];
  const lattices: Float32Array[] = [];
  for (const c of cells) {
    const n = Math.ceil(4 / c) + 4;
    const lat = new Float32Array(n * n);
    for (let i = 0; i < lat.length; i++) lat[i] = rng.normal();
    sizes.push(n);
    lattices.push(lat);
  }
  return {
    skin: rng.uniform(120, 185),
    background: rng.uniform(35, 90),
    browDark: rng.uniform(45, 80),
    lipDark: rng.uniform(18, 35),
    mouthLineDark: rng.uniform(45, 75),
    nostrilDark: rng.uniform(35, 60),
    foldDark: rng.uniform(8, 18),
    iris: rng.uniform(25, 60),
    sclera: rng.uniform(20, 45),
    texture: { cells, amps, lattices, sizes },
  };
}

function smoothstep(e0: number, e1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
}

/** Value noise of the texture at canonical (x, y), C1-smooth. */
export function textureAt(t: Texture, x: number, y: number): number {
  let v = 0;
  for (let o = 0; o < t.cells.length; o++) {
    const n = t.sizes[o];
    const fx = (x + 2) / t.cells[o] + 1;
    const fy = (y + 2) / t.cells[o] + 1;
    const ix = Math.min(n - 2, Math.max(0, Math.floor(fx)));
    const iy = Math.min(n - 2, Math.max(0, Math.floor(fy)));
    let tx = Math.min(1, Math.max(0, fx - ix));
    let ty = Math.min(1, Math.max(0, fy - iy));
    tx = tx * tx * (3 - 2 * tx);
    ty = ty * ty * (3 - 2 * ty);
    const lat = t.lattices[o];
    const a = lat[iy * n + ix];
    const b = lat[iy * n + ix + 1];
    const c = lat[(iy + 1) * n + ix];
    const d = lat[(iy + 1) * n + ix + 1];
    v += t.amps[o] *
      ((a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty);
  }
  return v;
}

function gauss(d: number, w: number): number {
  const r = d / w;
  return Math.exp(-0.5 * r * r);
}

/** Distance from (x, y) to the segment (ax, ay)–(bx, by). */
function segmentDistance(
  x: number,
  y: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
): number {
  const vx = bx - ax;
  const vy = by - ay;
  const t = Math.min(
    1,
    Math.max(0, ((x - ax) * vx + (y - ay) * vy) / (vx * vx + vy * vy)),
  );
  const dx = x - ax - t * vx;
  const dy = y - ay - t * vy;
  return Math.sqrt(dx * dx + dy * dy);
}

/**
 * Grey level of the neutral face at canonical (x, y); `edge` is the soft-edge
 * half-width in canonical units (about one pixel).
 */
export function faceIntensity(
  g: FaceGeometry,
  a: FaceAppearance,
  x: number,
  y: number,
  edge: number,
): number {
  const ry = y / g.faceRy;
  const r = Math.sqrt(x * x + ry * ry);
  const inFace = 1 - smoothstep(1 - edge, 1 + edge, r);
  if (inFace <= 0) return a.background;
  const r2 = Math.min(1, r * r);
  let v = a.skin * (0.8 + 0.2 * (1 - r2)) + textureAt(a.texture, x, y);
  const side = x < 0 ? -1 : 1;
  const sx = x * side; // mirrored to the right half

  // eyes
  {
    const ex = (sx - g.eyeX) / g.eyeRx;
    const ey = (y - g.eyeY) / g.eyeRy;
    const d = Math.sqrt(ex * ex + ey * ey);
    const eyeMask = 1 - smoothstep(1 - edge / g.eyeRy, 1 + edge / g.eyeRy, d);
    if (eyeMask > 0) {
      const di = Math.sqrt((sx - g.eyeX) ** 2 + (y - g.eyeY) ** 2) / g.irisR;
      const irisMask = 1 -
        smoothstep(1 - edge / g.irisR, 1 + edge / g.irisR, di);
      const sclera = v + a.sclera;
      const inner = sclera * (1 - irisMask) + a.iris * irisMask;
      v = v * (1 - eyeMask) + inner * eyeMask;
    }
    // upper lid line (lash) along the top of the eye
    if (ey < 0.3) {
      const lid = gauss(d - 1, 0.25) * (ey < 0 ? 1 : 1 - ey / 0.3);
      v -= 55 * lid * smoothstep(1.6, 0.9, Math.abs(ex));
    }
  }
  // brows
  {
    const bx = g.eyeX + 0.02;
    const t = (sx - bx) / (g.browLen / 2);
    if (t > -1.4 && t < 1.4) {
      const yc = g.eyeY - g.browGap - g.browArch * (1 - t * t) - g.browTilt * t;
      const taper = smoothstep(1.2, 0.8, Math.abs(t)) * (t < 0 ? 1 : 0.85);
      v -= a.browDark * taper *
        smoothstep(g.browThick + edge, g.browThick - edge, Math.abs(y - yc));
    }
  }
  // nose: nostrils, bridge shadows, tip highlight
  {
    v -= a.nostrilDark *
      gauss(Math.hypot(sx - g.noseW, y - g.noseY - 0.04), 0.03);
    v -= 10 * gauss(sx - 0.09, 0.025) * smoothstep(g.eyeY, g.eyeY + 0.1, y) *
      smoothstep(g.noseY + 0.02, g.noseY - 0.06, y);
    v += 10 * gauss(Math.hypot(x, y - g.noseY + 0.03), 0.05);
  }
  // nasolabial folds
  v -= a.foldDark *
    gauss(
      segmentDistance(
        sx,
        y,
        g.noseW + 0.06,
        g.noseY + 0.02,
        g.mouthHalfW + 0.07,
        g.mouthY + 0.03,
      ),
      0.022,
    );
  // lips and mouth line
  {
    const t = sx / g.mouthHalfW;
    if (t < 1.3) {
      const w = Math.sqrt(Math.max(0, 1 - t * t));
      const ml = g.mouthY + 0.01 * t * t; // mouth line
      const upTop = ml - g.lipUpper * w * (1 - 0.25 * gauss(sx, 0.05));
      const lowBot = ml + g.lipLower * w;
      const inLips = smoothstep(upTop - edge, upTop + edge, y) *
        smoothstep(lowBot + edge, lowBot - edge, y);
      v -= a.lipDark * inLips;
      v -= a.mouthLineDark * gauss(y - ml, 0.014 + edge * 0.5) *
        smoothstep(1.08, 0.95, t);
    }
    // chin shadow
    v -= 8 * gauss(Math.hypot(x * 0.6, y - g.mouthY - 0.3), 0.09);
  }
  return a.background * (1 - inFace) + v * inFace;
}

/**
 * Renders one frame: a `size × size` float image (grey levels, before noise
 * and quantisation) of the face under `pose` with the action-unit `kernels`
 * applied (an empty list renders the neutral face).
 */
export function renderFaceFloat(
  g: FaceGeometry,
  a: FaceAppearance,
  pose: HeadPose,
  kernels: readonly Kernel[],
  imaging: Imaging,
  size: number,
): Float32Array {
  const out = new Float32Array(size * size);
  const cos = Math.cos(pose.roll);
  const sin = Math.sin(pose.roll);
  const edge = 0.9 / pose.scale;
  const inv = new Float64Array(3);
  const scratch = new Float64Array(6);
  const lx = Math.cos(imaging.lightAngle) * imaging.lightStrength;
  const ly = Math.sin(imaging.lightAngle) * imaging.lightStrength;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      // pixel centre → canonical (inverse pose)
      const ix = (px - pose.cx) / pose.scale;
      const iy = (py - pose.cy) / pose.scale;
      const qx = cos * ix + sin * iy;
      const qy = -sin * ix + cos * iy;
      // undo the warp: find q0 with q0 + d(q0) = q
      let x0 = qx;
      let y0 = qy;
      if (kernels.length > 0) {
        invertWarp(kernels, qx, qy, inv, scratch);
        x0 = inv[0];
        y0 = inv[1];
      }
      const light = 1 + lx * (px / size - 0.5) + ly * (py / size - 0.5);
      out[py * size + px] = faceIntensity(g, a, x0, y0, edge) * light;
    }
  }
  return out;
}

/** Adds Gaussian sensor noise and quantises to 8 bits (round, clamp to 0..255). */
export function quantize(
  img: Float32Array,
  noiseSd: number,
  rng: AleaRng,
): Uint8Array {
  const out = new Uint8Array(img.length);
  for (let i = 0; i < img.length; i++) {
    const v = Math.round(img[i] + (noiseSd > 0 ? rng.normal(0, noiseSd) : 0));
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/**
 * The exact motion of the rendering (onset pixel → apex position), for
 * checks: for each onset pixel p, with q0 = pose0⁻¹(p), the apex position
 * is pose1(q0 + d(q0)); returns (u, v) = that minus p, in pixels.
 */
export function trueMotion(
  pose0: HeadPose,
  pose1: HeadPose,
  kernels: readonly Kernel[],
  size: number,
): { u: Float32Array; v: Float32Array } {
  const u = new Float32Array(size * size);
  const v = new Float32Array(size * size);
  const c0 = Math.cos(pose0.roll);
  const s0 = Math.sin(pose0.roll);
  const c1 = Math.cos(pose1.roll);
  const s1 = Math.sin(pose1.roll);
  const d = new Float64Array(2);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const ix = (px - pose0.cx) / pose0.scale;
      const iy = (py - pose0.cy) / pose0.scale;
      const qx = c0 * ix + s0 * iy;
      const qy = -s0 * ix + c0 * iy;
      displacementAt(kernels, qx, qy, d);
      const wx = qx + d[0];
      const wy = qy + d[1];
      const ax = pose1.cx + pose1.scale * (c1 * wx - s1 * wy);
      const ay = pose1.cy + pose1.scale * (s1 * wx + c1 * wy);
      u[py * size + px] = ax - px;
      v[py * size + px] = ay - py;
    }
  }
  return { u, v };
}
