"""Writes dtypes.safetensors and dtypes.expected.json: the same values stored
as F16, BF16 and F64 (by the `safetensors` package, with numpy and
ml_dtypes' bfloat16), and the float32 each must read back as (numpy's own
conversion, as float32 bit patterns), for model/safetensors_test.ts.

    pip install numpy ml_dtypes safetensors
    python3 model/testdata/gen_dtypes_fixture.py
"""
import json
import os
import warnings

import ml_dtypes
import numpy as np
from safetensors.numpy import save_file

# 65520 and 1e39 overflow to infinity in the narrow formats: on purpose
warnings.simplefilter("ignore", RuntimeWarning)

HERE = os.path.dirname(os.path.abspath(__file__))

# normal values, rounding cases, signed zeros, subnormals of each format,
# the largest finite values, infinities
values = [
    0.0, -0.0, 1.0, -2.5, 0.1, 1 / 3, 3.14159265358979, -65504.0, 65520.0,
    6.0e-8, 5.96e-8, 1.0e-5, -3.0e-6, 1.0e-40, 1.0e-45, 3.0e38, 1.0e39,
    float("inf"), float("-inf"), 1234.5678, 2.0 ** -126, 2.0 ** -133,
]
f64 = np.array(values, dtype=np.float64).reshape(2, 11)
tensors = {
    "f16": f64.astype(np.float16),
    "bf16": f64.astype(ml_dtypes.bfloat16),
    "f64": f64,
}
save_file(tensors, os.path.join(HERE, "dtypes.safetensors"))
expected = {
    name: {
        "shape": list(t.shape),
        "f32_bits": [
            int(b) for b in t.astype(np.float32).reshape(-1).view(np.uint32)
        ],
    }
    for name, t in tensors.items()
}
with open(os.path.join(HERE, "dtypes.expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
