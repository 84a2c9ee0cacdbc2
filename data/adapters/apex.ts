/**
 * Apex estimation for clips without an apex annotation (SMIC-HS, and the few
 * CASME II / SAMM rows whose apex cell is `/` or `-1`).
 *
 * Method (frame-difference energy, a fast proxy for the mean TV-L1 flow
 * magnitude from onset): every frame is converted to grey and shrunk with
 * area averaging so that its longer side is at most `maxSide` pixels (64 by
 * default, which suppresses sensor noise); the energy of frame t is the mean
 * absolute difference to the onset frame; the energies of frames 1..n−1 are
 * smoothed with weights [1, 2, 1] (renormalised at the ends) and the apex is
 * the first frame with maximal smoothed energy. The onset itself is never chosen
 * when the clip has more than one frame.
 *
 * @module
 */
import { readGreyImage } from "../image/image.ts";
import { resizeGrey } from "../image/resize.ts";

/** Result of {@link estimateApex}. */
export interface ApexEstimate {
  /** index into the given frame list. */
  index: number;
  /** raw energy per frame (0 for the onset). */
  energy: number[];
}

/**
 * Estimates the apex among `frames` (paths in temporal order, onset first).
 */
export async function estimateApex(
  frames: readonly string[],
  maxSide = 64,
): Promise<ApexEstimate> {
  if (frames.length === 0) throw new Error("estimateApex: no frames");
  if (frames.length === 1) return { index: 0, energy: [0] };
  const load = async (p: string) => {
    const g = await readGreyImage(p);
    const s = Math.min(1, maxSide / Math.max(g.width, g.height));
    const w = Math.max(1, Math.round(g.width * s));
    const h = Math.max(1, Math.round(g.height * s));
    return resizeGrey(g, w, h);
  };
  const onset = await load(frames[0]);
  const energy = [0];
  for (let t = 1; t < frames.length; t++) {
    const g = await load(frames[t]);
    if (g.width !== onset.width || g.height !== onset.height) {
      throw new Error(
        `estimateApex: frame ${frames[t]} has a different size than onset ${
          frames[0]
        }`,
      );
    }
    let e = 0;
    for (let i = 0; i < g.data.length; i++) {
      e += Math.abs(g.data[i] - onset.data[i]);
    }
    energy.push(e / g.data.length);
  }
  const n = energy.length;
  let best = 1, bestV = -Infinity;
  for (let t = 1; t < n; t++) {
    // [1, 2, 1] smoothing over frames 1..n-1, renormalised at the ends.
    let acc = 2 * energy[t], w = 2;
    if (t - 1 >= 1) (acc += energy[t - 1]), w++;
    if (t + 1 < n) (acc += energy[t + 1]), w++;
    const s = acc / w;
    if (s > bestV) (bestV = s), (best = t);
  }
  return { index: best, energy };
}
