"""Generates the OpenCV reference fixture for data/image tests.

Run with Debian's python3-opencv:  /usr/bin/python3 data/image/testdata/gen_opencv_fixture.py
Writes rgb.png, rgb.bmp (the same 37x29 RGB image) and opencv_fixture.json
(cv2.imread grey conversion, cv2.resize INTER_LINEAR / INTER_AREA on the
float32 grey image).
"""
import json
import os

import cv2
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)
h, w = 29, 37
yy, xx = np.mgrid[0:h, 0:w]
base = 120 + 60 * np.sin(xx / 5.0) * np.cos(yy / 4.0)
rgb = np.stack([base + rng.normal(0, 25, (h, w)) for _ in range(3)], -1)
rgb = np.clip(rgb, 0, 255).astype(np.uint8)
bgr = rgb[:, :, ::-1].copy()
cv2.imwrite(os.path.join(here, "rgb.png"), bgr)
cv2.imwrite(os.path.join(here, "rgb.bmp"), bgr)

grey_u8 = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
assert (cv2.imread(os.path.join(here, "rgb.bmp"), cv2.IMREAD_GRAYSCALE) is not None)
grey = grey_u8.astype(np.float32)

out = {"width": w, "height": h, "grey": grey_u8.flatten().tolist(), "linear": [], "area": []}
for tw, th in [(16, 12), (50, 40), (37, 10)]:
    r = cv2.resize(grey, (tw, th), interpolation=cv2.INTER_LINEAR)
    out["linear"].append({"width": tw, "height": th, "data": [round(float(v), 5) for v in r.flatten()]})
for tw, th in [(16, 12), (20, 15), (7, 29)]:
    r = cv2.resize(grey, (tw, th), interpolation=cv2.INTER_AREA)
    out["area"].append({"width": tw, "height": th, "data": [round(float(v), 5) for v in r.flatten()]})
# integer factor (a separate code path in OpenCV)
g2 = grey[:28, :36].copy()
r = cv2.resize(g2, (12, 14), interpolation=cv2.INTER_AREA)
out["areaInt"] = {"width": 12, "height": 14, "data": [round(float(v), 5) for v in r.flatten()]}
# rotation about a point, bilinear, replicate border (our warpAffine convention)
M = cv2.getRotationMatrix2D((18.0, 14.0), 17.0, 1.0)
r = cv2.warpAffine(grey, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
out["rotate"] = {"forward": M.flatten().tolist(), "data": [round(float(v), 5) for v in r.flatten()]}
with open(os.path.join(here, "opencv_fixture.json"), "w") as f:
    json.dump(out, f)
print("wrote fixture")
