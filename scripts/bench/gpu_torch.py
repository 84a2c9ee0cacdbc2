#!/usr/bin/env python3
"""PyTorch twin of gpu_bench.ts: epochs of MERba training on CUDA (or CPU).

The model is the PyTorch re-implementation in model/testdata/gen_fixtures.py
(`Net`, checked against the tfjs model by model/parity_test.ts). Its Mamba
selective scan is a Python loop over the sequence like mamba_ssm's
selective_scan_ref: mamba_ssm's fused CUDA kernel is NOT used (it builds
only against particular CUDA/torch versions), so this is the op-loop
PyTorch baseline, not the fastest PyTorch can do.

Same step as the tfjs side: forward in training mode, DGCM loss (coarse CE
+ 1.0 * fine CE over the samples whose label is negative), backward, AdamW
(lr 1e-4, wd 0.05), seeded random flows in [-1, 1], labels (3i + seed) % 7,
one untimed warm-up step, loss read back after every step (synchronises).
The twin has no dropout/drop path (gen_fixtures' Net is deterministic).

usage: python gpu_torch.py --config CFG.json [--device cuda|cpu]
       [--samples 1856] [--batch 128] [--epochs 1] [--seed 0]
prints progress lines, then one JSON line:
  {"device", "deviceName", "torch", "epoch_s", "samples_per_s", "step_ms", "scan"}
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "model", "testdata"))
from gen_fixtures import Net  # noqa: E402

# EMOTIONS_7 order of data/types.ts: anger, contempt, disgust, fear, happiness,
# sadness, surprise; DGCM coarse: negative(0) positive(1) surprise(2) others(3);
# fine over anger/disgust/fear/sadness (model/heads.ts).
FINE = {0: 0, 2: 1, 3: 2, 5: 3}
COARSE = {4: 1, 6: 2, 1: 3}


def targets(labels):
    coarse = [0 if l in FINE else COARSE[l] for l in labels]
    fine = [FINE.get(l, -1) for l in labels]
    return coarse, fine


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--samples", type=int, default=1856)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    for name in ("samples", "batch", "epochs"):
        if getattr(a, name) < 1:
            sys.exit(f"gpu_torch.py: --{name} must be >= 1, got {getattr(a, name)}")
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_torch.py: --device cuda but torch.cuda.is_available() is False")
    cfg = json.load(open(a.config))
    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    model = Net(cfg).to(dev)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999),
                            eps=1e-8, weight_decay=0.05)
    size = cfg["inputSize"]
    h, w = (size, size) if isinstance(size, int) else size
    gen = torch.Generator(device=dev)
    gen.manual_seed(a.seed)
    sizes = [min(a.batch, a.samples - i) for i in range(0, a.samples, a.batch)]
    xs = [torch.rand(n, cfg["inChannels"], h, w, generator=gen, device=dev) * 2 - 1 for n in sizes]
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    ys = []
    for n, s in zip(sizes, starts):
        coarse, fine = targets([((s + k) * 3 + a.seed) % 7 for k in range(n)])
        ys.append((torch.tensor(coarse, device=dev), torch.tensor(fine, device=dev)))

    def step(x, y):
        yc, yf = y
        opt.zero_grad(set_to_none=True)
        out, _ = model(x)
        loss = F.cross_entropy(out["coarse"], yc)
        neg = yf >= 0
        if bool(neg.any()):
            loss = loss + 1.0 * F.cross_entropy(out["fine"][neg], yf[neg])
        loss.backward()
        opt.step()
        return float(loss.item())  # synchronises with the device

    step(xs[0], ys[0])  # warm-up
    epoch_s = []
    for e in range(a.epochs):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for x, y in zip(xs, ys):
            loss = step(x, y)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        epoch_s.append(time.perf_counter() - t)
        print(f"  torch {a.device}: epoch {e + 1}/{a.epochs} {epoch_s[-1]:.2f} s, loss {loss:.4f}", file=sys.stderr)
    total = sum(epoch_s)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(json.dumps({
        "device": a.device,
        "deviceName": name,
        "torch": torch.__version__,
        "epoch_s": epoch_s,
        "samples_per_s": a.samples * a.epochs / total,
        "step_ms": total * 1000 / (a.epochs * len(sizes)),
        "scan": "selective scan as a Python op loop (mamba_ssm selective_scan_ref); mamba_ssm's CUDA kernel not used",
    }))


if __name__ == "__main__":
    main()
