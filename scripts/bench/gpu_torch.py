#!/usr/bin/env python3
"""PyTorch twin of gpu_bench.ts: epochs of MERba training on CUDA (or CPU).

The model is the PyTorch re-implementation in model/testdata/gen_fixtures.py
(`Net`, checked against the tfjs model by test/parity_test.ts). Its Mamba
selective scan is a Python loop over the sequence like mamba_ssm's
selective_scan_ref: mamba_ssm's fused CUDA kernel is NOT used (it builds
only against particular CUDA/torch versions), so this is the op-loop
PyTorch baseline, not the fastest PyTorch can do.

Same step as the tfjs side: forward in training mode, DGCM loss (coarse CE
+ 1.0 * fine CE over the samples whose label is negative), backward, AdamW
(lr 1e-4, wd 0.05), seeded random flows in [-1, 1], labels (3i + seed) % 7,
one untimed warm-up step, loss read back after every step (synchronises).
The twin has no dropout/drop path (gen_fixtures' Net is deterministic).

usage: python gpu_torch.py --config CFG.json [--device cuda|cpu|auto]
       [--samples 1856] [--batch 128] [--epochs 1] [--seed 0]
prints progress lines, then one JSON line:
  {"device", "deviceName", "torch", "epoch_s", "samples_per_s", "step_ms", "scan"}

Step mode (scripts/gpu/check.ts): --steps N [--batches 32,128]
[--scans loop,parallel] [--max-seconds S] [--self-test] times, per scan and
batch, one untimed warm-up step then up to N steps (stopping after S
seconds), and prints one line `RESULT {json}` per measurement (an out-of-
memory error is a RESULT with "error", and the next one runs). `--device
auto` uses CUDA when torch sees it, else the CPU, and says so.

Scans: `loop` is the reference's Python loop over the sequence (mamba_ssm's
selective_scan_ref, as the reference code runs without mamba_ssm);
`parallel` is a Hillis-Steele inclusive scan of the affine maps
h -> a*h + b over the sequence (ceil(log2 L) whole-tensor steps instead of L
small ones; more memory), the same recurrence in another summation order.
`--self-test` checks `parallel` against `loop` in float64 on the CPU
(outputs and all input gradients) and prints a RESULT line first.
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
import gen_fixtures  # noqa: E402
from gen_fixtures import Net, selective_scan_ref  # noqa: E402

# EMOTIONS_7 order of data/types.ts: anger, contempt, disgust, fear, happiness,
# sadness, surprise; DGCM coarse: negative(0) positive(1) surprise(2) others(3);
# fine over anger/disgust/fear/sadness (train/dgcm.ts).
FINE = {0: 0, 2: 1, 3: 2, 5: 3}
COARSE = {4: 1, 6: 2, 1: 3}


def targets(labels):
    coarse = [0 if l in FINE else COARSE[l] for l in labels]
    fine = [FINE.get(l, -1) for l in labels]
    return coarse, fine


def selective_scan_parallel(u, delta, A, B, C, D, delta_bias, delta_softplus=True):
    """selective_scan_ref's function as a Hillis-Steele scan over the sequence.

    (a_t, b_t) = (exp(delta_t A), delta_t B_t u_t) are affine maps
    h -> a_t h + b_t; after the step with offset k, position t holds the
    composition of the maps t-2k+1..t, so after ceil(log2 L) steps h_t is the
    recurrence's state. Shapes as selective_scan_ref: u/delta [b,d,l], B/C
    [b,n,l].
    """
    delta = delta + delta_bias[..., None]
    if delta_softplus:
        delta = F.softplus(delta)
    a = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    h = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)
    length = u.shape[2]
    off = 1
    while off < length:
        h = torch.cat([h[:, :, :off], a[:, :, off:] * h[:, :, :-off] + h[:, :, off:]], dim=2)
        a = torch.cat([a[:, :, :off], a[:, :, off:] * a[:, :, :-off]], dim=2)
        off *= 2
    y = torch.einsum("bdln,bnl->bdl", h, C)
    return y + u * D[..., None]


SCANS = {"loop": selective_scan_ref, "parallel": selective_scan_parallel}


def self_test(seed=0):
    """Max relative error of parallel vs loop (float64, CPU): y and all 7 gradients."""
    g = torch.Generator().manual_seed(seed)
    worst = 0.0
    for (b, d, l, n) in [(3, 5, 49, 4), (2, 3, 17, 8), (1, 2, 1, 3), (2, 4, 64, 8)]:
        def r(*shape):
            return (torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1).requires_grad_()
        ins = [r(b, d, l), r(b, d, l) * 2, -torch.exp(r(d, n) * 1.5), r(b, n, l), r(b, n, l), r(d), r(d)]
        ins = [t.detach().requires_grad_() for t in ins]
        w = torch.rand(b, d, l, generator=g, dtype=torch.float64)
        outs = []
        for fn in (selective_scan_ref, selective_scan_parallel):
            y = fn(*ins, delta_softplus=True)
            # allow_unused: at length 1 the parallel form never reads A (h_0 = 0)
            grads = torch.autograd.grad((y * w).sum(), ins, allow_unused=True)
            outs.append([y.detach()] + [torch.zeros_like(t) if gr is None else gr for t, gr in zip(ins, grads)])
        for p, q in zip(outs[1], outs[0]):
            worst = max(worst, float((p - q).abs().max() / q.abs().max().clamp_min(1e-300)))
    return worst


def result(obj):
    print("RESULT " + json.dumps(obj), flush=True)


def steps_mode(a, cfg, dev, note):
    size = cfg["inputSize"]
    h, w = (size, size) if isinstance(size, int) else size
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    for scan in a.scans.split(","):
        if scan not in SCANS:
            sys.exit(f"gpu_torch.py: --scans: unknown scan '{scan}' (loop or parallel)")
    if a.self_test:
        err = self_test(a.seed)
        result({"kind": "selftest", "scan": "parallel vs loop", "maxRelErr": err, "pass": err < 1e-10})
    for scan in a.scans.split(","):
        gen_fixtures.selective_scan_ref = SCANS[scan]  # the mixer looks the scan up at call time
        for batch in [int(x) for x in a.batches.split(",")]:
            base = {"kind": "torch", "scan": scan, "batch": batch, "device": dev.type, "deviceName": name,
                    "torch": torch.__version__, "note": note}
            model = opt = xs = None
            try:
                torch.manual_seed(a.seed)
                model = Net(cfg).to(dev)
                model.train()
                opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)
                gen = torch.Generator(device=dev)
                gen.manual_seed(a.seed)
                xs = [torch.rand(batch, cfg["inChannels"], h, w, generator=gen, device=dev) * 2 - 1
                      for _ in range(min(a.steps, 4))]
                coarse, fine = targets([(k * 3 + a.seed) % 7 for k in range(batch)])
                y = (torch.tensor(coarse, device=dev), torch.tensor(fine, device=dev))

                def step(x):
                    opt.zero_grad(set_to_none=True)
                    out, _ = model(x)
                    loss = F.cross_entropy(out["coarse"], y[0])
                    neg = y[1] >= 0
                    if bool(neg.any()):
                        loss = loss + 1.0 * F.cross_entropy(out["fine"][neg], y[1][neg])
                    loss.backward()
                    opt.step()
                    return float(loss.item())  # synchronises with the device

                t0 = time.perf_counter()
                losses = [step(xs[0])]
                warm = (time.perf_counter() - t0) * 1000
                ms = []
                begin = time.perf_counter()
                for i in range(a.steps):
                    t0 = time.perf_counter()
                    losses.append(step(xs[(i + 1) % len(xs)]))
                    ms.append((time.perf_counter() - t0) * 1000)
                    if time.perf_counter() - begin >= a.max_seconds:
                        break
                med = sorted(ms)[len(ms) // 2] if len(ms) % 2 else sum(sorted(ms)[len(ms) // 2 - 1:len(ms) // 2 + 1]) / 2
                sps = batch * 1000 / med
                peak = torch.cuda.max_memory_allocated(dev) if dev.type == "cuda" else None
                print(f"  torch {dev.type} {scan} batch {batch}: median {med:.1f} ms/step, {sps:.2f} samples/s", file=sys.stderr, flush=True)
                result({**base, "warmupMs": warm, "stepMs": ms, "medianStepMs": med, "samplesPerSecond": sps,
                        "epochSeconds": 1856 / sps, "losses": losses, "peakBytes": peak})
            except torch.cuda.OutOfMemoryError as e:
                result({**base, "error": "out of memory: " + str(e).split("\n")[0]})
            except RuntimeError as e:
                result({**base, "error": str(e).split("\n")[0]})
            finally:
                del model, opt, xs
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats(dev)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu", "auto"])
    ap.add_argument("--samples", type=int, default=1856)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=0, help="step mode: timed steps per (scan, batch)")
    ap.add_argument("--batches", default="32,128")
    ap.add_argument("--scans", default="loop,parallel")
    ap.add_argument("--max-seconds", type=float, default=30.0)
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    for name in ("samples", "batch", "epochs"):
        if getattr(a, name) < 1:
            sys.exit(f"gpu_torch.py: --{name} must be >= 1, got {getattr(a, name)}")
    note = ""
    if a.device == "auto":
        a.device = "cuda" if torch.cuda.is_available() else "cpu"
        if a.device == "cpu":
            note = "torch.cuda.is_available() is False: ran on the CPU, NOT a PyTorch-CUDA number"
            print(f"gpu_torch.py: {note}", file=sys.stderr, flush=True)
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_torch.py: --device cuda but torch.cuda.is_available() is False")
    cfg = json.load(open(a.config))
    dev = torch.device(a.device)
    if a.steps > 0:
        return steps_mode(a, cfg, dev, note)
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
