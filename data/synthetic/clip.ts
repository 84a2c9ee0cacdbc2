/**
 * Rendering of one planned synthetic clip: the neutral onset frame and the
 * apex frame with the clip's action units and head motion.
 *
 * @module
 */

import { activationKernels } from "./action_units.ts";
import {
  type HeadPose,
  quantize,
  renderFaceFloat,
  trueMotion,
} from "./face.ts";
import type { RelativePose, SyntheticSamplePlan } from "./plan.ts";
import { makeRng } from "./rng.ts";

/** A rendered clip: two 8-bit grey frames, row-major `size × size`. */
export interface SyntheticClip {
  /** the sample id. */
  id: string;
  /** frame side in pixels. */
  size: number;
  /** neutral frame. */
  onset: Uint8Array;
  /** frame at the expression's peak. */
  apex: Uint8Array;
}

function absolutePose(p: RelativePose, size: number): HeadPose {
  return {
    cx: (0.5 + p.ox) * size - 0.5,
    cy: (0.5 + p.oy) * size - 0.5,
    scale: p.scale * size,
    roll: p.roll,
  };
}

/**
 * Renders a planned clip at `size × size` pixels. Deterministic: the sensor
 * noise comes from streams owned by (dataset seed, sample id, frame).
 *
 * @param sample a sample of {@link planSyntheticDataset}'s plan.
 * @param size frame side in pixels (≥ 16).
 * @param seed the dataset seed the plan was made with.
 */
export function renderSyntheticClip(
  sample: SyntheticSamplePlan,
  size: number,
  seed: number,
): SyntheticClip {
  if (!Number.isInteger(size) || size < 16) {
    throw new Error(
      `renderSyntheticClip: size must be an integer >= 16, got ${size}`,
    );
  }
  const sub = sample.subject;
  const kernels = activationKernels(sample.activations, sub.geometry);
  const onsetF = renderFaceFloat(
    sub.geometry,
    sub.appearance,
    absolutePose(sample.pose0, size),
    [],
    sample.imaging,
    size,
  );
  const apexF = renderFaceFloat(
    sub.geometry,
    sub.appearance,
    absolutePose(sample.pose1, size),
    kernels,
    sample.imaging,
    size,
  );
  const id = sample.record.id;
  return {
    id,
    size,
    onset: quantize(
      onsetF,
      sample.imaging.noiseSd,
      makeRng(seed, "noise", id, "onset"),
    ),
    apex: quantize(
      apexF,
      sample.imaging.noiseSd,
      makeRng(seed, "noise", id, "apex"),
    ),
  };
}

/**
 * The exact motion of a planned clip at `size` (onset pixel → apex position,
 * pixels; valid on the face, the static background is not excluded), for
 * checking estimated flows.
 */
export function syntheticTrueMotion(
  sample: SyntheticSamplePlan,
  size: number,
): { u: Float32Array; v: Float32Array } {
  const kernels = activationKernels(
    sample.activations,
    sample.subject.geometry,
  );
  return trueMotion(
    absolutePose(sample.pose0, size),
    absolutePose(sample.pose1, size),
    kernels,
    size,
  );
}
