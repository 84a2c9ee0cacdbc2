/**
 * Apex estimation for clips without an apex annotation (SMIC-HS, and the few
 * CASME II / SAMM rows whose apex cell is `/` or `-1`).
 *
 Every frame is converted to grey and shrunk with area averaging so that its
 * longer side is at most `maxSide` pixels (64 by default, which suppresses
 * sensor noise). The energy of frame t is, with `method`:
 * - `difference` (default, fast): the mean absolute grey difference to the
 *   onset frame (a proxy for the flow magnitude);
 * - `tvl1`: the mean TV-L1 flow magnitude from the onset to frame t
 *   (OpenCV DualTVL1 defaults, at the shrunk size; slower).
 *
 * Then the energies of frames 1..n−1 are
 * smoothed with weights [1, 2, 1] (renormalised at the ends) and the apex is
 * the first frame with maximal smoothed energy. The onset itself is never chosen
 * when the clip has more than one frame.
 *
 * @module
 */
import { readGreyImage } from "../image/image.ts";
import { resizeGrey } from "../image/resize.ts";
import { tvl1Flow } from "../flow/mod.ts";

/** How {@link estimateApex} measures motion from the onset. */
export type ApexMethod = "difference" | "tvl1";

/** Options of {@link estimateApex}. */
export interface ApexOptions {
  /** energy measure (default `difference`). */
  method?: ApexMethod;
  /** longer side of the shrunk frames (default 64). */
  maxSide?: number;
}

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
  options: ApexOptions = {},
): Promise<ApexEstimate> {
  const method = options.method ?? "difference";
  const maxSide = options.maxSide ?? 64;
  if (method !== "difference" && method !== "tvl1") {
    throw new Error(
      `apex method must be "difference" or "tvl1", got ${String(method)}`,
    );
  }
  if (!Number.isInteger(maxSide) || maxSide < 8) {
    throw new Error(`apex maxSide must be an integer ≥ 8, got ${maxSide}`);
  }
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
    if (method === "difference") {
      for (let i = 0; i < g.data.length; i++) {
        e += Math.abs(g.data[i] - onset.data[i]);
      }
    } else {
      const { u, v } = tvl1Flow(onset.data, g.data, g.width, g.height);
      for (let i = 0; i < u.length; i++) e += Math.hypot(u[i], v[i]);
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
