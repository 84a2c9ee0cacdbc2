#!/usr/bin/python3
"""OpenCV DualTVL1 side of scripts/bench/tvl1_bench.ts.

Usage: /usr/bin/python3 scripts/bench/tvl1_opencv.py DIR THREADS REPEATS

DIR/pairs.json lists pairs {"name", "width", "height"}; DIR/<name>.bin holds
prev then next as uint8 [height*width] each. For each pair, runs
cv2.optflow.DualTVL1OpticalFlow_create() (defaults) REPEATS times with
cv2.setNumThreads(THREADS) (THREADS < 0 keeps OpenCV's default), writes the
flow of the last run to DIR/<name>.cv<THREADS>.flow (u then v, float32
little-endian) and prints one JSON object to stdout:
{"threads": <effective thread count>, "opencv": version,
 "pairs": [{"name", "ms": [wall ms per run], "cpu_ms": [CPU ms per run, all
 threads of the process]}]}.
"""

import json
import os
import sys
import time

import cv2
import numpy as np


def main():
    folder, threads, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if threads >= 0:
        cv2.setNumThreads(threads)
    with open(os.path.join(folder, "pairs.json")) as f:
        pairs = json.load(f)
    out = {"threads": cv2.getNumThreads(), "opencv": cv2.__version__, "pairs": []}
    for p in pairs:
        w, h, name = p["width"], p["height"], p["name"]
        raw = np.fromfile(os.path.join(folder, name + ".bin"), dtype=np.uint8)
        if raw.size != 2 * w * h:
            raise ValueError(f"{name}.bin: {raw.size} bytes, expected {2 * w * h}")
        prev = raw[: w * h].reshape(h, w)
        nxt = raw[w * h:].reshape(h, w)
        times = []
        cpu = []
        flow = None
        for _ in range(repeats):
            tv = cv2.optflow.DualTVL1OpticalFlow_create()
            t0 = time.perf_counter()
            c0 = time.process_time()
            flow = tv.calc(prev, nxt, None)
            cpu.append((time.process_time() - c0) * 1000)
            times.append((time.perf_counter() - t0) * 1000)
        uv = np.concatenate([flow[..., 0].ravel(), flow[..., 1].ravel()]).astype("<f4")
        uv.tofile(os.path.join(folder, f"{name}.cv{threads}.flow"))
        out["pairs"].append({"name": name, "ms": times, "cpu_ms": cpu})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
