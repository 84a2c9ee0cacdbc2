/**
 * Window partition and reverse on NHWC maps, as MambaVision's
 * `window_partition`/`window_reverse`: windows are taken row-major over the
 * map and tokens row-major inside each window; maps that the window does not
 * divide are zero-padded at the right and bottom (and cropped after).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor3D, Tensor4D } from "../tensor_types.ts";

/**
 * Splits x [B, H, W, C] (H, W divisible by `window`) into
 * [B·(H/w)·(W/w), w·w, C].
 */
export function windowPartition(
  x: Tensor4D,
  window: number,
): Tensor3D {
  const [b, h, w, c] = x.shape;
  if (h % window !== 0 || w % window !== 0) {
    throw new Error(
      `windowPartition: window ${window} does not tile the ${h}×${w} map`,
    );
  }
  const nh = h / window, nw = w / window;
  // [B·nh, w, nw, w·C] → [B·nh, nw, w, w·C]
  const t = tf.transpose(tf.reshape(x, [b * nh, window, nw, window * c]), [
    0,
    2,
    1,
    3,
  ]);
  return tf.reshape(t, [b * nh * nw, window * window, c]);
}

/** Inverse of {@link windowPartition}: [B·nh·nw, w·w, C] → [B, H, W, C]. */
export function windowReverse(
  windows: Tensor3D,
  window: number,
  h: number,
  w: number,
): Tensor4D {
  const c = windows.shape[2];
  const nh = h / window, nw = w / window;
  const b = windows.shape[0] / (nh * nw);
  const t = tf.transpose(
    tf.reshape(windows, [b * nh, nw, window, window * c]),
    [0, 2, 1, 3],
  );
  return tf.reshape(t, [b, h, w, c]);
}

/** Right/bottom zero padding that makes `window` divide an h×w map. */
export function windowPadding(
  h: number,
  w: number,
  window: number,
): { padBottom: number; padRight: number } {
  return {
    padBottom: (window - (h % window)) % window,
    padRight: (window - (w % window)) % window,
  };
}

/** Pads x [B, H, W, C] at the bottom/right so that `window` divides it. */
export function padToWindow(x: Tensor4D, window: number): Tensor4D {
  const { padBottom, padRight } = windowPadding(x.shape[1], x.shape[2], window);
  if (padBottom === 0 && padRight === 0) return x;
  return tf.pad(x, [[0, 0], [0, padBottom], [0, padRight], [0, 0]]);
}
