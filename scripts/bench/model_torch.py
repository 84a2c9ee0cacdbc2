#!/usr/bin/env python3
"""PyTorch CPU timing of the same MERba / MambaVision model as model_bench.ts.

Uses the PyTorch re-implementation in model/testdata/gen_fixtures.py
(selective scan as mamba_ssm's selective_scan_ref op loop: the reference's
CUDA kernels do not run on CPU).

usage: /usr/bin/python3 scripts/bench/model_torch.py CONFIG_JSON BATCH REPS [adam|sgd]
prints one JSON line: {"forward_ms": .., "train_ms": .., "threads": ..}
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "model", "testdata"))
from gen_fixtures import Net  # noqa: E402


def main():
    cfg = json.load(open(sys.argv[1]))
    batch, reps = int(sys.argv[2]), int(sys.argv[3])
    torch.manual_seed(0)
    model = Net(cfg)
    size = cfg["inputSize"]
    h, w = (size, size) if isinstance(size, int) else size
    x = torch.randn(batch, cfg["inChannels"], h, w)
    yc = torch.arange(batch) % 4
    yl = torch.arange(batch) % cfg["numClasses"]
    optimizer = sys.argv[4] if len(sys.argv) > 4 else "adam"
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=1e-4)

    def loss_of(out):
        if "logits" in out:
            return F.cross_entropy(out["logits"], yl)
        return F.cross_entropy(out["coarse"], yc) + F.cross_entropy(out["fine"], yc)

    def fwd():
        model.eval()
        with torch.no_grad():
            model(x)

    def step():
        model.train()
        opt.zero_grad()
        out, _ = model(x)
        loss_of(out).backward()
        opt.step()

    res = {"threads": torch.get_num_threads()}
    for name, fn in (("forward_ms", fwd), ("train_ms", step)):
        fn()  # warm-up
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        res[name] = (time.perf_counter() - t) * 1000 / reps
    print(json.dumps(res))


if __name__ == "__main__":
    main()
