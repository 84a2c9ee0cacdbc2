#!/usr/bin/env python3
"""PyTorch-CPU side of scripts/bench/cpu_bench.ts (`deno task bench:cpu`).

Builds the same MERba model as the tfjs side with the PyTorch
re-implementation in model/testdata/gen_fixtures.py (patch embed, conv
stage, LGFI stages whose mixers run over the scan orders, global attention,
DGCM head; the selective scan is mamba_ssm's selective_scan_ref python loop,
as the reference's CUDA kernels do not run on CPU) and answers timing
requests over stdin/stdout so that the benchmark can interleave the two
sides on a loaded machine.

usage: /usr/bin/python3 scripts/bench/cpu_torch.py CONFIG_JSON BATCH THREADS [SCAN]

SCAN: "unbind" (default) runs the reference loop with the per-step slices
taken once by unbind(); "ref" runs selective_scan_ref verbatim, whose
`deltaA[:, :, i]` indexing makes autograd's backward build a zero tensor of
the full [b, d, l, n] size per step (O(L^2) fill_/copy_/add): measured here
it made the PyTorch training step ~5x slower, so "unbind" is the stronger,
fairer baseline. Both compute the same values.

Requests (one JSON object per line on stdin), each answered by one JSON line:
  {"cmd": "train"}    one training step (forward, DGCM loss, backward, AdamW)
                      -> {"ms": wall milliseconds, "cpu_ms": process CPU ms}
  {"cmd": "forward"}  one eval-mode forward under no_grad -> {"ms", "cpu_ms"}
  {"cmd": "profile"}  one training step under torch.autograd.profiler;
                      self CPU time grouped -> {"conv_ms" (2-D convs),
                      "conv1d_ms" (the mixers' depthwise conv1d), "matmul_ms",
                      "total_ms", "top": [[op, ms], ...]}
  {"cmd": "scan", "shapes": [[B, L, D, N], ...], "reps": R}
                      the SCAN function over every shape, forward and
                      forward+backward, median of R -> {"fwd_ms", "fwdbwd_ms"}
  {"cmd": "quit"}
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "model", "testdata"))
import gen_fixtures  # noqa: E402
from gen_fixtures import Net, selective_scan_ref  # noqa: E402


def selective_scan_unbind(u, delta, A, B, C, D, delta_bias, delta_softplus=True):
    """selective_scan_ref with the time slices taken once (unbind): same values."""
    delta = delta + delta_bias[..., None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, dstate = u.shape[0], A.shape[0], A.shape[1]
    x = A.new_zeros((batch, dim, dstate))
    deltaA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A)).unbind(2)
    deltaB_u = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u).unbind(2)
    Cs = C.unbind(2)
    ys = []
    for i in range(u.shape[2]):
        x = deltaA[i] * x + deltaB_u[i]
        ys.append(torch.einsum("bdn,bn->bd", x, Cs[i]))
    y = torch.stack(ys, dim=2)
    return y + u * D[..., None]

ALPHA = 0.5


def conv_op(name):
    n = name.lower()
    return "conv" in n


def matmul_op(name):
    return name in ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::matmul", "aten::linear",
                    "aten::addbmm", "aten::dot", "aten::mv", "aten::addmv")


def main():
    cfg = json.load(open(sys.argv[1]))
    batch, threads = int(sys.argv[2]), int(sys.argv[3])
    scan_kind = sys.argv[4] if len(sys.argv) > 4 else "unbind"
    if scan_kind not in ("ref", "unbind"):
        raise SystemExit(f"cpu_torch.py: SCAN must be ref or unbind, got {scan_kind!r}")
    scan_fn = selective_scan_unbind if scan_kind == "unbind" else selective_scan_ref
    gen_fixtures.selective_scan_ref = scan_fn  # what the model's mixers call
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Net(cfg)
    size = cfg["inputSize"]
    h, w = (size, size) if isinstance(size, int) else size
    x = torch.rand(batch, cfg["inChannels"], h, w) * 2 - 1
    coarse_t = torch.tensor([i % 4 for i in range(batch)])
    neg = [i for i in range(batch) if i % 4 == 0]
    fine_t = torch.tensor([i % 4 for i in neg])
    neg_idx = torch.tensor(neg)
    labels = torch.tensor([i % cfg["numClasses"] for i in range(batch)])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)

    def loss_of(out):
        if "logits" in out:
            return F.cross_entropy(out["logits"], labels)
        loss = F.cross_entropy(out["coarse"], coarse_t)
        if len(neg) > 0:
            loss = loss + ALPHA * F.cross_entropy(out["fine"][neg_idx], fine_t)
        return loss

    def train_step():
        model.train()
        opt.zero_grad(set_to_none=True)
        out, _ = model(x)
        loss = loss_of(out)
        loss.backward()
        opt.step()
        return float(loss)

    def forward():
        model.eval()
        with torch.no_grad():
            out, _ = model(x)
        return out

    def timed(fn):
        t = time.perf_counter()
        fn()
        return (time.perf_counter() - t) * 1e3

    def timed_cpu(fn):
        t, c = time.perf_counter(), time.process_time()
        fn()
        return {"ms": (time.perf_counter() - t) * 1e3, "cpu_ms": (time.process_time() - c) * 1e3}

    def profile():
        with torch.autograd.profiler.profile(record_shapes=True) as prof:
            t = time.perf_counter()
            train_step()
            total = (time.perf_counter() - t) * 1e3
        conv = conv1d = mm = 0.0
        by_op = {}
        for ev in prof.key_averages(group_by_input_shape=True):
            ms = ev.self_cpu_time_total / 1e3
            by_op[ev.key] = by_op.get(ev.key, 0.0) + ms
            if conv_op(ev.key):
                shapes = [sh for sh in (ev.input_shapes or []) if sh]
                # the mixers' depthwise conv1d (3-D inputs) is not a conv on
                # the tfjs side (shifted products there): counted apart
                if shapes and len(shapes[0]) == 3:
                    conv1d += ms
                else:
                    conv += ms
            elif matmul_op(ev.key):
                mm += ms
        rows = sorted(by_op.items(), key=lambda r: -r[1])
        return {"conv_ms": conv, "conv1d_ms": conv1d, "matmul_ms": mm, "total_ms": total, "top": rows[:12]}

    def scan(shapes, reps):
        gen = torch.Generator().manual_seed(1)
        cases = []
        for (b, l, d, n) in shapes:
            u = torch.randn(b, d, l, generator=gen)
            dt = torch.randn(b, d, l, generator=gen) * 0.5
            A = -torch.exp(torch.rand(d, n, generator=gen))
            B = torch.randn(b, n, l, generator=gen)
            C = torch.randn(b, n, l, generator=gen)
            D = torch.randn(d, generator=gen)
            bias = torch.randn(d, generator=gen) * 0.1
            cases.append([u, dt, A, B, C, D, bias])

        def fwd():
            with torch.no_grad():
                for c in cases:
                    scan_fn(*c, True)

        grads = [[t.clone().requires_grad_(True) for t in c] for c in cases]

        def fwdbwd():
            for c in grads:
                for t in c:
                    t.grad = None
                y = scan_fn(*c, True)
                y.sum().backward()

        fwd()
        fwdbwd()
        f = statistics.median(timed(fwd) for _ in range(reps))
        fb = statistics.median(timed(fwdbwd) for _ in range(reps))
        return {"fwd_ms": f, "fwdbwd_ms": fb}

    print(json.dumps({"ready": True, "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "params": sum(p.numel() for p in model.parameters()), "scan": scan_kind}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req["cmd"]
        if cmd == "train":
            res = timed_cpu(train_step)
        elif cmd == "forward":
            res = timed_cpu(forward)
        elif cmd == "profile":
            res = profile()
        elif cmd == "scan":
            res = scan(req["shapes"], int(req.get("reps", 3)))
        elif cmd == "quit":
            break
        else:
            res = {"error": f"unknown cmd {cmd!r}"}
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
