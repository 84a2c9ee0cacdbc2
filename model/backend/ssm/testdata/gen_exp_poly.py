"""Fits the cubic q of exp(r) ≈ 1 + r + r²·q(r), |r| ≤ ln2/2, used by $exp4
in model/backend/ssm/scan_simd.wat: least squares on Chebyshev nodes weighted for
relative error, coefficients rounded to float32, error measured with float32
Horner evaluation. Run: /usr/bin/python3 model/backend/ssm/testdata/gen_exp_poly.py
"""
import numpy as np

half = np.log(2) / 2
n = 2000
r = np.cos(np.pi * (np.arange(n) + 0.5) / n) * half
target = (np.exp(r) - 1 - r) / r**2
weight = r**2 / np.exp(r)
vander = np.vander(r, 4, increasing=True)
coef, *_ = np.linalg.lstsq(vander * weight[:, None], target * weight, rcond=None)
c32 = coef.astype(np.float32)
rr = np.linspace(-half, half, 200001).astype(np.float32)
q = np.zeros_like(rr)
for ci in c32[::-1]:
    q = (q * rr + ci).astype(np.float32)
e = (q * rr * rr + rr + np.float32(1)).astype(np.float32)
err = np.max(np.abs(e.astype(np.float64) / np.exp(rr.astype(np.float64)) - 1))
print("q coefficients (c0..c3):", [float(v) for v in c32])
print("max relative error of exp(r) in float32:", err)
