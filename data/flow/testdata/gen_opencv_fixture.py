#!/usr/bin/python3
"""Generate the OpenCV DualTVL1 cross-check fixture for data/flow/tvl1_test.ts.

Run with Debian's python (it has python3-opencv 4.6 with contrib optflow):

    /usr/bin/python3 data/flow/testdata/gen_opencv_fixture.py

Writes, next to this script:
  opencv_tvl1.json  manifest: OpenCV version, cases (name, size, options,
                    ground-truth flow description, byte offsets into the .bin)
  opencv_tvl1.bin   little-endian blocks per case: prev uint8 [h*w],
                    next uint8 [h*w], OpenCV u float32 [h*w], v float32 [h*w],
                    ground-truth u float32 [h*w], v float32 [h*w]; then the
                    "ops" block (resize, remap INTER_CUBIC, medianBlur on a
                    small float image; offsets in the manifest)

Images are an analytic smooth texture T (seeded numpy RandomState) sampled so
that prev(y, x) = T(x + u, y + v) and next(y, x) = T(x, y), i.e. the true
flow satisfies prev(y, x) = next(y + v, x + u) -- OpenCV's convention.
"""

import json
import os
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE = 48


def texture(rng, size):
    """A random smooth texture as a function of continuous (x, y)."""
    n_blobs = 14
    bx = rng.uniform(-4, size + 4, n_blobs)
    by = rng.uniform(-4, size + 4, n_blobs)
    bs = rng.uniform(2.5, 7.0, n_blobs)
    ba = rng.uniform(-90, 90, n_blobs)
    n_waves = 4
    wf = rng.uniform(0.08, 0.35, n_waves)
    wd = rng.uniform(0, 2 * np.pi, n_waves)
    wp = rng.uniform(0, 2 * np.pi, n_waves)
    wa = rng.uniform(8, 20, n_waves)

    def t(x, y):
        out = np.full_like(x, 128.0, dtype=np.float64)
        for i in range(n_blobs):
            out += ba[i] * np.exp(-((x - bx[i]) ** 2 + (y - by[i]) ** 2) / (2 * bs[i] ** 2))
        for i in range(n_waves):
            out += wa[i] * np.sin(wf[i] * (np.cos(wd[i]) * x + np.sin(wd[i]) * y) + wp[i])
        return out

    return t


def flow_field(kind, size):
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    if kind == "translation":
        return np.full_like(x, 1.3), np.full_like(x, -0.7)
    if kind == "smooth_warp":
        u = 1.5 * np.sin(2 * np.pi * y / size) + 0.4
        v = 1.2 * np.cos(2 * np.pi * x / size) - 0.3
        return u, v
    if kind == "local_bump":
        c = size / 2
        g = np.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * (size / 7) ** 2))
        return 2.0 * g, -1.5 * g
    raise ValueError(kind)


def make_pair(kind, seed, size):
    rng = np.random.RandomState(seed)
    t = texture(rng, size)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    u, v = flow_field(kind, size)
    prev = np.clip(np.round(t(x + u, y + v)), 0, 255).astype(np.uint8)
    nxt = np.clip(np.round(t(x, y)), 0, 255).astype(np.uint8)
    return prev, nxt, u.astype(np.float32), v.astype(np.float32)


# Option names as tvl1.ts spells them -> OpenCV's python keyword names.
PY_NAMES = {"lambda": "lambda_", "innerIterations": "innnerIterations"}


def opencv_flow(prev, nxt, opts):
    kw = {PY_NAMES.get(k, k): v for k, v in opts.items()}
    tv = cv2.optflow.DualTVL1OpticalFlow_create(**kw)
    flow = tv.calc(prev, nxt, None)
    return flow[..., 0].copy(), flow[..., 1].copy()


# Stage cases run few iterations so that float32 rounding differences cannot
# grow: they pin down each step (pyramid, warp, thresholding, dual update,
# median) tightly. The default cases run OpenCV's full defaults.
CASES = [
    ("stage_1scale_1warp_5inner", "smooth_warp", 21,
     {"nscales": 1, "warps": 1, "innerIterations": 5, "outerIterations": 1, "medianFiltering": 1}),
    ("stage_2scales_2warps_median5", "smooth_warp", 22,
     {"nscales": 2, "warps": 2, "innerIterations": 5, "outerIterations": 2, "medianFiltering": 5}),
    ("stage_3scales_gamma_median3", "local_bump", 23,
     {"nscales": 3, "warps": 1, "innerIterations": 4, "outerIterations": 2, "medianFiltering": 3,
      "gamma": 0.2, "lambda": 0.3}),
    ("translation", "translation", 11, {}),
    ("smooth_warp", "smooth_warp", 12, {}),
    ("local_bump", "local_bump", 13, {}),
    ("translation_median3_warps3", "translation", 14, {"medianFiltering": 3, "warps": 3}),
    ("smooth_warp_gamma", "smooth_warp", 15, {"gamma": 0.1}),
]


def ops_fixture(blob):
    """OpenCV primitives TV-L1 relies on, on small float images."""
    rng = np.random.RandomState(5)
    h, w = 20, 23
    img = rng.uniform(0, 255, (h, w)).astype(np.float32)
    ops = {"width": w, "height": h, "offset": len(blob)}
    blob += img.astype("<f4").tobytes()
    down = cv2.resize(img, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_LINEAR)
    ops["down"] = {"width": down.shape[1], "height": down.shape[0], "offset": len(blob)}
    blob += down.astype("<f4").tobytes()
    up = cv2.resize(down, (w, h), interpolation=cv2.INTER_LINEAR)
    ops["up"] = {"offset": len(blob)}
    blob += up.astype("<f4").tobytes()
    # flows reaching past the borders exercise BORDER_CONSTANT partial taps
    u = rng.uniform(-3, 3, (h, w)).astype(np.float32)
    v = rng.uniform(-3, 3, (h, w)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    warped = cv2.remap(img, xx + u, yy + v, cv2.INTER_CUBIC)
    ops["remap"] = {"offset": len(blob)}
    for arr in (u, v, warped):
        blob += arr.astype("<f4").tobytes()
    ops["median5"] = {"offset": len(blob)}
    blob += cv2.medianBlur(u, 5).astype("<f4").tobytes()
    ops["median3"] = {"offset": len(blob)}
    blob += cv2.medianBlur(u, 3).astype("<f4").tobytes()
    return ops


def main():
    cv2.setNumThreads(1)
    manifest = {"opencv": cv2.__version__, "size": SIZE, "cases": []}
    blob = bytearray()
    for name, kind, seed, opts in CASES:
        prev, nxt, gu, gv = make_pair(kind, seed, SIZE)
        u, v = opencv_flow(prev, nxt, opts)
        offset = len(blob)
        for arr in (prev, nxt, u, v, gu, gv):
            blob += arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        epe = float(np.mean(np.hypot(u - gu, v - gv)))
        manifest["cases"].append(
            {"name": name, "kind": kind, "seed": seed, "width": SIZE, "height": SIZE,
             "options": opts, "offset": offset, "opencvEpe": epe}
        )
        print(f"{name}: OpenCV EPE vs truth {epe:.4f}", file=sys.stderr)
    manifest["ops"] = ops_fixture(blob)
    with open(os.path.join(HERE, "opencv_tvl1.bin"), "wb") as f:
        f.write(bytes(blob))
    with open(os.path.join(HERE, "opencv_tvl1.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
