"""PyTorch reference for train/optim.ts: torch.optim.AdamW over a few steps.

Three toy parameters: `w` (rank 2, decayed), `b` (rank 1, not decayed) and
`mixer.A_log` (rank 2 but named A_log, not decayed), in two param groups as
the decay mask prescribes. The learning rate changes every step, and on step 3
`b` gets no gradient (PyTorch then skips it entirely).

Run: /usr/bin/python3 train/testdata/gen_adamw.py > train/testdata/adamw_reference.json
"""
import json

import torch

torch.manual_seed(0)
params = {
    "w": torch.randn(3, 4),
    "b": torch.randn(4),
    "mixer.A_log": torch.randn(2, 3),
}
init = {k: v.tolist() for k, v in params.items()}
tparams = {k: torch.nn.Parameter(v.clone()) for k, v in params.items()}
settings = {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0.05}
opt = torch.optim.AdamW(
    [
        {"params": [tparams["w"]], "weight_decay": settings["weightDecay"]},
        {"params": [tparams["b"], tparams["mixer.A_log"]], "weight_decay": 0.0},
    ],
    lr=settings["lr"],
    betas=tuple(settings["betas"]),
    eps=settings["eps"],
    weight_decay=settings["weightDecay"],
)
lrs = [1e-2, 5e-2, 2e-2, 1e-3, 3e-2]
steps = []
for i, lr in enumerate(lrs):
    for g in opt.param_groups:
        g["lr"] = lr
    grads = {}
    for k, p in tparams.items():
        if k == "b" and i == 2:
            p.grad = None
            continue
        g = torch.randn_like(p) * (1.0 + i)
        p.grad = g
        grads[k] = g.tolist()
    opt.step()
    steps.append(
        {
            "lr": lr,
            "grads": grads,
            "after": {k: p.detach().tolist() for k, p in tparams.items()},
        }
    )
print(json.dumps({"torch": torch.__version__, "settings": settings, "init": init, "steps": steps}))
