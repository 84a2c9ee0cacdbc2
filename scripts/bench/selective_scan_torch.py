"""PyTorch peer of scripts/bench/selective_scan_bench.ts.

Times Mamba's reference selective scan (the op loop of
mamba_ssm.ops.selective_scan_interface.selective_scan_ref, channels-first,
with unbind in place of per-step indexing)
at the given sizes, forward (no grad) and forward+backward (grads of all 7
inputs), on the CPU. Prints one JSON line: {"torch": version, "threads": n, "fwd_ms",
"fwdbwd_ms" (median wall-clock), "fwd_cpu_ms", "fwdbwd_cpu_ms" (median
process CPU time)}.

Run with Debian's interpreter:
/usr/bin/python3 selective_scan_torch.py B L D N [reps] [threads]
"""
import json
import sys
import time

import torch
import torch.nn.functional as F


def selective_scan_ref(u, delta, A, B, C, D, delta_bias, delta_softplus=True):
    """u, delta: [B, D, L]; A: [D, N]; B, C: [B, N, L]; D, delta_bias: [D]."""
    delta = delta + delta_bias[..., None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, dstate = u.shape[0], A.shape[0], A.shape[1]
    x = A.new_zeros((batch, dim, dstate))
    ys = []
    delta_a = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    delta_b_u = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)
    # unbind instead of indexing delta_a[:, :, i]: the backward of unbind is
    # one stack, while each index's backward fills and adds a full-size zero
    # tensor (O(L^2) memory traffic; 1 s instead of 30 ms here).
    for a_i, bu_i, c_i in zip(delta_a.unbind(2), delta_b_u.unbind(2), C.unbind(2)):
        x = a_i * x + bu_i
        ys.append(torch.einsum("bdn,bn->bd", x, c_i))
    y = torch.stack(ys, dim=2)
    return y + u * D[..., None]


def median_ms(fn, reps):
    """Median wall-clock and process-CPU milliseconds of fn()."""
    wall, cpu = [], []
    for _ in range(reps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    wall.sort()
    cpu.sort()
    return wall[len(wall) // 2], cpu[len(cpu) // 2]


def main():
    b, l, d, n = (int(v) for v in sys.argv[1:5])
    reps = int(sys.argv[5]) if len(sys.argv) > 5 else 20
    if len(sys.argv) > 6:
        torch.set_num_threads(int(sys.argv[6]))
    g = torch.Generator().manual_seed(0)

    def rnd(*shape, scale=1.0):
        return (torch.rand(*shape, generator=g) * 2 - 1) * scale

    inputs = [
        rnd(b, d, l),
        rnd(b, d, l, scale=2.0),
        -torch.exp(rnd(d, n, scale=1.5)),
        rnd(b, n, l),
        rnd(b, n, l),
        rnd(d),
        rnd(d),
    ]
    w = rnd(b, d, l)

    def fwd():
        with torch.no_grad():
            selective_scan_ref(*inputs)

    leaves = [t.clone().requires_grad_(True) for t in inputs]

    def fwdbwd():
        y = selective_scan_ref(*leaves)
        torch.autograd.grad((y * w).sum(), leaves)

    for _ in range(3):
        fwd()
        fwdbwd()
    fwd_ms, fwd_cpu_ms = median_ms(fwd, reps)
    fwdbwd_ms, fwdbwd_cpu_ms = median_ms(fwdbwd, reps)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "fwd_ms": fwd_ms,
        "fwdbwd_ms": fwdbwd_ms,
        "fwd_cpu_ms": fwd_cpu_ms,
        "fwdbwd_cpu_ms": fwdbwd_cpu_ms,
    }))


if __name__ == "__main__":
    main()
