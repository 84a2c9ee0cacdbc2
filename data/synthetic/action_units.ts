/**
 * FACS-like action units as smooth displacement fields around facial
 * landmarks, and the emotion prototypes built from them.
 *
 * Coordinates are the canonical face frame: origin at the face centre, x to
 * the image right, y down, one unit = half the face width. An action unit is a
 * sum of Gaussian-weighted displacement kernels placed at landmarks of the
 * subject's geometry; a kernel moves the skin around its centre by
 * `amplitude · direction` at the centre, decaying as exp(−r²/2σ²).
 *
 * @module
 */

/** The action units the generator can render. */
export const ACTION_UNITS = [
  1,
  2,
  4,
  5,
  6,
  7,
  9,
  10,
  12,
  14,
  15,
  20,
  23,
  26,
] as const;

/** One of {@link ACTION_UNITS}. */
export type ActionUnit = typeof ACTION_UNITS[number];

/** Landmarks of a face in canonical units (see the module doc). */
export interface FaceGeometry {
  /** half-height of the face oval (half-width is 1). */
  faceRy: number;
  /** horizontal distance of the eye centres from the midline. */
  eyeX: number;
  /** height of the eye centres. */
  eyeY: number;
  /** horizontal eye half-axis. */
  eyeRx: number;
  /** vertical eye half-axis. */
  eyeRy: number;
  /** iris radius. */
  irisR: number;
  /** vertical gap between an eye centre and its brow. */
  browGap: number;
  /** brow length. */
  browLen: number;
  /** brow half-thickness. */
  browThick: number;
  /** brow arch height. */
  browArch: number;
  /** brow tilt (outer end higher if > 0). */
  browTilt: number;
  /** nose tip height. */
  noseY: number;
  /** half-distance between the nostrils. */
  noseW: number;
  /** mouth centre height. */
  mouthY: number;
  /** mouth half-width. */
  mouthHalfW: number;
  /** upper lip height. */
  lipUpper: number;
  /** lower lip height. */
  lipLower: number;
}

/** A displacement kernel: a Gaussian bump of motion. */
export interface Kernel {
  /** centre x (canonical units). */
  cx: number;
  /** centre y (canonical units). */
  cy: number;
  /** Gaussian width (canonical units). */
  sigma: number;
  /** horizontal displacement at the centre (canonical units). */
  dx: number;
  /** vertical displacement at the centre (canonical units). */
  dy: number;
}

/** Base displacement amplitude of a fully expressed action unit (canonical units). */
export const AU_AMPLITUDE = 0.034;

/**
 * The kernels of action unit `au` on one side of the face (`side` −1 = image
 * left, +1 = image right), at unit intensity. Midline units (AU26) are
 * emitted on side +1 only and return nothing for side −1.
 */
export function auKernels(
  au: ActionUnit,
  side: -1 | 1,
  g: FaceGeometry,
): Kernel[] {
  const s = side;
  const A = AU_AMPLITUDE;
  const browY = g.eyeY - g.browGap;
  const k = (
    cx: number,
    cy: number,
    sigma: number,
    dx: number,
    dy: number,
  ): Kernel => ({ cx, cy, sigma, dx: dx * A, dy: dy * A });
  switch (au) {
    case 1: // inner brow raiser
      return [k(s * (g.eyeX - 0.13), browY, 0.11, 0, -1)];
    case 2: // outer brow raiser
      return [k(s * (g.eyeX + 0.13), browY - 0.01, 0.11, 0, -1)];
    case 4: // brow lowerer: down and towards the midline
      return [
        k(s * (g.eyeX - 0.08), browY, 0.13, -s * 0.55, 0.85),
        k(s * 0.1, browY + 0.04, 0.08, -s * 0.4, 0.3),
      ];
    case 5: // upper lid raiser
      return [k(s * g.eyeX, g.eyeY - g.eyeRy, 0.075, 0, -0.75)];
    case 6: // cheek raiser (and lower lid pushed up)
      return [
        k(s * (g.eyeX + 0.03), g.eyeY + 0.25, 0.15, s * 0.1, -0.85),
        k(s * (g.eyeX + 0.2), g.eyeY + 0.02, 0.08, -s * 0.2, -0.3),
      ];
    case 7: // lid tightener: lower lid up
      return [k(s * g.eyeX, g.eyeY + g.eyeRy, 0.075, 0, -0.75)];
    case 9: // nose wrinkler: nose sides up, inner brow pulled down
      return [
        k(s * 0.1, g.noseY - 0.15, 0.1, -s * 0.2, -0.85),
        k(s * (g.eyeX - 0.2), browY + 0.05, 0.09, 0, 0.35),
      ];
    case 10: // upper lip raiser
      return [k(s * 0.13, g.mouthY - g.lipUpper, 0.11, 0, -0.9)];
    case 12: // lip corner puller: corners out and up
      return [k(s * g.mouthHalfW, g.mouthY, 0.12, s * 0.65, -0.75)];
    case 14: // dimpler: corner pulled back (outwards in a frontal view)
      return [k(s * (g.mouthHalfW + 0.02), g.mouthY, 0.1, s * 0.85, -0.3)];
    case 15: // lip corner depressor
      return [k(s * g.mouthHalfW, g.mouthY + 0.03, 0.11, -s * 0.1, 0.9)];
    case 20: // lip stretcher: corners horizontally out
      return [k(s * g.mouthHalfW, g.mouthY + 0.01, 0.11, s * 0.9, 0.15)];
    case 23: // lip tightener: lips narrowed towards the centre
      return [
        k(s * 0.16, g.mouthY, 0.1, -s * 0.75, 0),
        k(s * 0.05, g.mouthY + g.lipLower, 0.07, 0, -0.3),
      ];
    case 26: // jaw drop: lower lip and chin down
      return s === 1
        ? [
          k(0, g.mouthY + g.lipLower + 0.12, 0.22, 0, 1.25),
          k(0, g.mouthY + g.lipLower, 0.1, 0, 0.5),
        ]
        : [];
  }
}

/** Whether an emotion's units are shown on both sides or on the subject's preferred side only (contempt). */
export type Laterality = "bilateral" | "unilateral";

/** An emotion's prototype: core units always shown, optional ones by dialect. */
export interface EmotionPrototype {
  /** units every subject shows for this emotion (at least one). */
  core: readonly ActionUnit[];
  /** units a subject may or may not show (decided per subject). */
  optional: readonly ActionUnit[];
  /** probability that a subject's dialect includes each optional unit. */
  optionalRate: number;
  /** `unilateral`: one side only (the subject's preferred side). */
  laterality: Laterality;
  /** alternatives: a subject shows exactly one of these sets in place of `core` (disgust: AU9 or AU10 or both). */
  alternatives?: readonly (readonly ActionUnit[])[];
}

/**
 * Emotion prototypes (EMFACS-like), keyed by the labels of EMOTIONS_7:
 * happiness AU6+12, disgust AU9/10, surprise AU1+2+5+26, sadness AU1+4+15,
 * anger AU4+5+7+23, fear AU1+2+4+5+20, contempt unilateral AU14.
 */
export const EMOTION_PROTOTYPES: Readonly<Record<string, EmotionPrototype>> = {
  happiness: {
    core: [12],
    optional: [6],
    optionalRate: 0.7,
    laterality: "bilateral",
  },
  disgust: {
    core: [],
    optional: [4],
    optionalRate: 0.25,
    laterality: "bilateral",
    alternatives: [[9], [10], [9, 10]],
  },
  surprise: {
    core: [1],
    optional: [2, 5, 26],
    optionalRate: 0.7,
    laterality: "bilateral",
  },
  sadness: {
    core: [15],
    optional: [1, 4],
    optionalRate: 0.65,
    laterality: "bilateral",
  },
  anger: {
    core: [4],
    optional: [5, 7, 23],
    optionalRate: 0.6,
    laterality: "bilateral",
  },
  fear: {
    core: [1, 20],
    optional: [2, 4, 5],
    optionalRate: 0.6,
    laterality: "bilateral",
  },
  contempt: {
    core: [14],
    optional: [],
    optionalRate: 0,
    laterality: "unilateral",
  },
};

/** An action unit as applied in one clip. */
export interface AuActivation {
  /** the action unit. */
  au: ActionUnit;
  /** intensity on the image-left side (x < 0). */
  left: number;
  /** intensity on the image-right side (x > 0). */
  right: number;
}

/** The kernels of a set of activations, intensities folded into the vectors. */
export function activationKernels(
  acts: readonly AuActivation[],
  g: FaceGeometry,
): Kernel[] {
  const out: Kernel[] = [];
  for (const a of acts) {
    for (const side of [-1, 1] as const) {
      const gain = a.au === 26
        ? (a.left + a.right) / 2
        : side === -1
        ? a.left
        : a.right;
      if (gain === 0) continue;
      for (const k of auKernels(a.au, side, g)) {
        out.push({ ...k, dx: k.dx * gain, dy: k.dy * gain });
      }
    }
  }
  return out;
}

/** Displacement (dx, dy) of the kernels at canonical point (x, y), written to `out`. */
export function displacementAt(
  kernels: readonly Kernel[],
  x: number,
  y: number,
  out: Float64Array,
): void {
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < kernels.length; i++) {
    const k = kernels[i];
    const rx = x - k.cx;
    const ry = y - k.cy;
    const r2 = (rx * rx + ry * ry) / (k.sigma * k.sigma);
    if (r2 > 25) continue;
    const w = Math.exp(-0.5 * r2);
    dx += w * k.dx;
    dy += w * k.dy;
  }
  out[0] = dx;
  out[1] = dy;
}

/**
 * Displacement and its Jacobian at canonical (x, y): writes
 * `[dx, dy, ∂dx/∂x, ∂dx/∂y, ∂dy/∂x, ∂dy/∂y]` to `out`.
 */
export function displacementJacobianAt(
  kernels: readonly Kernel[],
  x: number,
  y: number,
  out: Float64Array,
): void {
  let dx = 0, dy = 0, dxx = 0, dxy = 0, dyx = 0, dyy = 0;
  for (let i = 0; i < kernels.length; i++) {
    const k = kernels[i];
    const rx = x - k.cx;
    const ry = y - k.cy;
    const s2 = k.sigma * k.sigma;
    const r2 = (rx * rx + ry * ry) / s2;
    if (r2 > 25) continue;
    const w = Math.exp(-0.5 * r2);
    const wx = (-w * rx) / s2;
    const wy = (-w * ry) / s2;
    dx += w * k.dx;
    dy += w * k.dy;
    dxx += wx * k.dx;
    dxy += wy * k.dx;
    dyx += wx * k.dy;
    dyy += wy * k.dy;
  }
  out[0] = dx;
  out[1] = dy;
  out[2] = dxx;
  out[3] = dxy;
  out[4] = dyx;
  out[5] = dyy;
}

/**
 * Inverts the warp q0 ↦ q0 + d(q0): writes to `out` the point q0 whose
 * displaced position is (qx, qy) (Newton's method from a fixed-point start,
 * to 1e-9 canonical units; `out[2]` receives the final residual). Unique
 * while det(I + ∇d) > 0, which the generator's gain cap keeps.
 */
export function invertWarp(
  kernels: readonly Kernel[],
  qx: number,
  qy: number,
  out: Float64Array,
  scratch: Float64Array = new Float64Array(6),
): void {
  const j = scratch;
  displacementJacobianAt(kernels, qx, qy, j);
  let x = qx - j[0];
  let y = qy - j[1];
  let res = Infinity;
  for (let it = 0; it < 20; it++) {
    displacementJacobianAt(kernels, x, y, j);
    const gx = x + j[0] - qx;
    const gy = y + j[1] - qy;
    res = Math.hypot(gx, gy);
    if (res < 1e-9) break;
    const a = 1 + j[2], b = j[3], c = j[4], e = 1 + j[5];
    const det = a * e - b * c;
    if (det > 0.05) {
      x -= (e * gx - b * gy) / det;
      y -= (-c * gx + a * gy) / det;
    } else {
      x = qx - j[0];
      y = qy - j[1];
    }
  }
  out[0] = x;
  out[1] = y;
  out[2] = res;
}
