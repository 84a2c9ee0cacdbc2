"""Generates scan_torch.json: PyTorch fixtures for the fused selective scan.

Uses Mamba's reference semantics (mamba_ssm selective_scan_ref, channels-first
u/delta [B, D, L], B/C [B, N, L]) in float64 autograd, and stores inputs,
output and the gradients of sum(y * w) channels-last ([B, L, D], [B, L, N])
as model/selective_scan.ts takes them. Inputs are rounded to float32 first.

Run: /usr/bin/python3 model/backend/ssm/testdata/gen_scan_torch.py
"""
import json
import os

import torch
import torch.nn.functional as F


def selective_scan_ref(u, delta, A, B, C, D, delta_bias, delta_softplus):
    delta = delta + delta_bias[..., None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, dstate = u.shape[0], A.shape[0], A.shape[1]
    x = A.new_zeros((batch, dim, dstate))
    delta_a = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    delta_b_u = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)
    ys = []
    for i in range(u.shape[2]):
        x = delta_a[:, :, i] * x + delta_b_u[:, :, i]
        ys.append(torch.einsum("bdn,bn->bd", x, C[:, :, i]))
    y = torch.stack(ys, dim=2)
    return y + u * D[..., None]


def case(seed, b, l, d, n, softplus):
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=1.0):
        v = (torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1) * scale
        return v.float().double()  # float32-representable

    u = rnd(b, d, l)
    delta = rnd(b, d, l, scale=2.0)
    A = (-torch.exp(rnd(d, n, scale=1.5))).float().double()
    Bm = rnd(b, n, l)
    Cm = rnd(b, n, l)
    Dv = rnd(d)
    bias = rnd(d)
    w = rnd(b, d, l)
    leaves = [t.clone().requires_grad_(True) for t in (u, delta, A, Bm, Cm, Dv, bias)]
    y = selective_scan_ref(*leaves, softplus)
    grads = torch.autograd.grad((y * w).sum(), leaves)

    def last(t):  # [B, X, L] -> [B, L, X] flattened
        return t.permute(0, 2, 1).reshape(-1).tolist()

    names = ["u", "delta", "A", "B", "C", "D", "deltaBias"]
    inputs = [last(u), last(delta), A.reshape(-1).tolist(), last(Bm), last(Cm),
              Dv.tolist(), bias.tolist()]
    gl = [last(grads[0]), last(grads[1]), grads[2].reshape(-1).tolist(),
          last(grads[3]), last(grads[4]), grads[5].tolist(), grads[6].tolist()]
    return {
        "dims": {"batch": b, "length": l, "dim": d, "state": n},
        "deltaSoftplus": softplus,
        "inputs": dict(zip(names, inputs)),
        "w": last(w),
        "y": last(y.detach()),
        "grads": dict(zip(names, gl)),
    }


def main():
    cases = [
        case(1, 2, 5, 3, 4, True),
        case(2, 3, 9, 7, 5, False),
        case(3, 1, 1, 2, 1, True),
        case(4, 2, 16, 8, 8, True),
    ]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scan_torch.json")
    def rounded(v):  # 10 significant digits: ample for float32 comparisons
        if isinstance(v, float):
            return float(f"{v:.10g}")
        if isinstance(v, list):
            return [rounded(x) for x in v]
        if isinstance(v, dict):
            return {k: rounded(x) for k, x in v.items()}
        return v

    with open(out, "w") as f:
        json.dump({"torch": torch.__version__, "cases": rounded(cases)}, f, indent=2)
        f.write("\n")
    print(f"wrote {out} ({len(cases)} cases, torch {torch.__version__})")


if __name__ == "__main__":
    main()
