#!/usr/bin/env python3
"""Generates the PyTorch parity fixtures of the model library.

A faithful PyTorch re-implementation of the reference MambaVision modules
(NVlabs mamba_vision.py: PatchEmbed, ConvBlock, Downsample, MambaVisionMixer
with selective_scan_ref semantics, Attention, Block, MambaVisionLayer with
window partition/padding, BN + avgpool + head) and of MERba as the paper and
model/merba.ts describe it (LGFI stages: per-scan mixers without out_proj,
restored to window order and summed, then out_proj and MLP; global attention
blocks; DGCM head). Tiny configurations, weights randomised (so that layer
scales, BN running stats etc. all matter), saved as safetensors with the
input, per-stage outputs and logits.

Run with Debian's torch: /usr/bin/python3 model/testdata/gen_fixtures.py
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- safetensors
def save_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype == torch.int64:
            dtype, raw = "I64", t.numpy().astype("<i8").tobytes()
        else:
            dtype, raw = "F32", t.float().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ------------------------------------------------------------ reference parts
def window_partition(x, ws):
    B, C, H, W = x.shape
    x = x.view(B, C, H // ws, ws, W // ws, ws)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(-1, ws * ws, C)


def window_reverse(windows, ws, H, W):
    B = int(windows.shape[0] / (H * W / ws / ws))
    x = windows.reshape(B, H // ws, W // ws, ws, ws, -1)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(B, windows.shape[2], H, W)


def selective_scan_ref(u, delta, A, B, C, D, delta_bias, delta_softplus=True):
    """mamba_ssm selective_scan_ref, u/delta [b,d,l], B/C [b,n,l]."""
    delta = delta + delta_bias[..., None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, dstate = u.shape[0], A.shape[0], A.shape[1]
    x = A.new_zeros((batch, dim, dstate))
    deltaA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    deltaB_u = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)
    ys = []
    for i in range(u.shape[2]):
        x = deltaA[:, :, i] * x + deltaB_u[:, :, i]
        ys.append(torch.einsum("bdn,bn->bd", x, C[:, :, i]))
    y = torch.stack(ys, dim=2)
    return y + u * D[..., None]


class Mlp(nn.Module):  # timm Mlp, drop 0
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Downsample(nn.Module):
    def __init__(self, dim, out_dim):
        super().__init__()
        self.reduction = nn.Sequential(nn.Conv2d(dim, out_dim, 3, 2, 1, bias=False))

    def forward(self, x):
        return self.reduction(x)


class PatchEmbed(nn.Module):
    def __init__(self, in_chans, in_dim, dim):
        super().__init__()
        self.proj = nn.Identity()
        self.conv_down = nn.Sequential(
            nn.Conv2d(in_chans, in_dim, 3, 2, 1, bias=False),
            nn.BatchNorm2d(in_dim, eps=1e-4), nn.ReLU(),
            nn.Conv2d(in_dim, dim, 3, 2, 1, bias=False),
            nn.BatchNorm2d(dim, eps=1e-4), nn.ReLU())

    def forward(self, x):
        return self.conv_down(self.proj(x))


class ConvBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv1 = nn.Conv2d(dim, dim, 3, 1, 1)
        self.norm1 = nn.BatchNorm2d(dim, eps=1e-5)
        self.act1 = nn.GELU(approximate="tanh")
        self.conv2 = nn.Conv2d(dim, dim, 3, 1, 1)
        self.norm2 = nn.BatchNorm2d(dim, eps=1e-5)

    def forward(self, x):
        y = self.norm2(self.conv2(self.act1(self.norm1(self.conv1(x)))))
        return x + y


class MambaVisionMixer(nn.Module):
    def __init__(self, d_model, d_state=8, d_conv=3, expand=1, out_proj=True,
                 dt_bias_twice=True):
        super().__init__()
        self.d_inner = int(expand * d_model)
        self.d_state = d_state
        self.dt_rank = math.ceil(d_model / 16)
        self.dt_bias_twice = dt_bias_twice
        h = self.d_inner // 2
        self.in_proj = nn.Linear(d_model, self.d_inner, bias=False)
        self.x_proj = nn.Linear(h, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, h, bias=True)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(h, 1))
        self.D = nn.Parameter(torch.ones(h))
        if out_proj:
            self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)
        else:
            self.out_proj = None
        self.conv1d_x = nn.Conv1d(h, h, d_conv, groups=h, bias=False)
        self.conv1d_z = nn.Conv1d(h, h, d_conv, groups=h, bias=False)

    def forward(self, hs):
        _, seqlen, _ = hs.shape
        h = self.d_inner // 2
        xz = self.in_proj(hs).transpose(1, 2)
        x, z = xz.chunk(2, dim=1)
        A = -torch.exp(self.A_log.float())
        x = F.silu(F.conv1d(x, self.conv1d_x.weight, None, padding="same", groups=h))
        z = F.silu(F.conv1d(z, self.conv1d_z.weight, None, padding="same", groups=h))
        x_dbl = self.x_proj(x.transpose(1, 2).reshape(-1, h))
        dt, B, C = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = self.dt_proj(dt).reshape(-1, seqlen, h).transpose(1, 2)
        B = B.reshape(-1, seqlen, self.d_state).transpose(1, 2)
        C = C.reshape(-1, seqlen, self.d_state).transpose(1, 2)
        bias = self.dt_proj.bias.float() if self.dt_bias_twice else torch.zeros(h)
        y = selective_scan_ref(x, dt, A, B, C, self.D.float(), bias, True)
        y = torch.cat([y, z], dim=1).transpose(1, 2)
        return self.out_proj(y) if self.out_proj is not None else y


class Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Block(nn.Module):
    """Reference Block; `mixer` is any token mixer module."""

    def __init__(self, dim, mixer_module, mlp_ratio, layer_scale, mixer_attr="mixer"):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        setattr(self, mixer_attr, mixer_module)
        self.mixer_attr = mixer_attr
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        use = layer_scale is not None
        self.gamma_1 = nn.Parameter(layer_scale * torch.ones(dim)) if use else 1
        self.gamma_2 = nn.Parameter(layer_scale * torch.ones(dim)) if use else 1

    def mix(self, x):
        return getattr(self, self.mixer_attr)(x)

    def forward(self, x):
        x = x + self.gamma_1 * self.mix(self.norm1(x))
        x = x + self.gamma_2 * self.mlp(self.norm2(x))
        return x


def transformer_blocks(depth):
    return list(range(depth // 2 + 1, depth)) if depth % 2 != 0 else list(range(depth // 2, depth))


class MambaVisionLayer(nn.Module):
    def __init__(self, cfg, i, dim, depth, heads, ws, conv, downsample, out_dim):
        super().__init__()
        self.conv = conv
        self.window_size = ws
        if conv:
            self.blocks = nn.ModuleList([ConvBlock(dim) for _ in range(depth)])
        else:
            tb = transformer_blocks(depth)
            m = cfg["mixer"]
            self.blocks = nn.ModuleList([
                Block(dim, Attention(dim, heads) if j in tb else
                      MambaVisionMixer(dim, m["dState"], m["dConv"], m["expand"],
                                       dt_bias_twice=m["dtBiasTwice"]),
                      cfg["mlpRatio"], cfg["layerScale"])
                for j in range(depth)])
        self.downsample = Downsample(dim, out_dim) if downsample else None

    def forward_blocks(self, x):
        _, _, H, W = x.shape
        if not self.conv:
            ws = self.window_size
            pad_r = (ws - W % ws) % ws
            pad_b = (ws - H % ws) % ws
            if pad_r > 0 or pad_b > 0:
                x = F.pad(x, (0, pad_r, 0, pad_b))
            _, _, Hp, Wp = x.shape
            x = window_partition(x, ws)
        for blk in self.blocks:
            x = blk(x)
        if not self.conv:
            x = window_reverse(x, ws, Hp, Wp)
            x = x[:, :, :H, :W].contiguous()
        return x


# ------------------------------------------------------------------- MERba
def scan_order(h, w, name):
    base, _, suffix = name.partition("-")
    mirror, reverse = "m" in suffix, "r" in suffix
    out = []
    def push(r, c):
        out.append(r * w + (w - 1 - c if mirror else c))
    if base in ("h", "hz"):
        for r in range(h):
            back = base == "hz" and r % 2 == 1
            for k in range(w):
                push(r, w - 1 - k if back else k)
    else:
        for c in range(w):
            back = base == "vz" and c % 2 == 1
            for k in range(h):
                push(h - 1 - k if back else k, c)
    if reverse:
        out.reverse()
    return out


class LocalExtractor(nn.Module):
    def __init__(self, dim, cfg):
        super().__init__()
        m = cfg["mixer"]
        self.scans = cfg["scans"]
        self.mixers = nn.ModuleList([
            MambaVisionMixer(dim, m["dState"], m["dConv"], m["expand"], out_proj=False,
                             dt_bias_twice=m["dtBiasTwice"]) for _ in self.scans])
        self.out_proj = nn.Linear(int(m["expand"] * dim), dim, bias=False)
        self.grid = None

    def forward(self, x):
        gh, gw = self.grid
        total = 0
        for s, name in enumerate(self.scans):
            order = torch.tensor(scan_order(gh, gw, name))
            inv = torch.argsort(order)
            y = self.mixers[s](x[:, order])
            total = total + y[:, inv]
        return self.out_proj(total)


class ExtractorBlock(Block):
    """A Block whose mixer (LocalExtractor) is flattened into the block's namespace."""

    def __init__(self, dim, cfg):
        nn.Module.__init__(self)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * cfg["mlpRatio"]))
        ext = LocalExtractor(dim, cfg)
        self.mixers = ext.mixers
        self.out_proj = ext.out_proj
        self._ext = [ext]
        ls = cfg["layerScale"]
        self.gamma_1 = nn.Parameter(ls * torch.ones(dim)) if ls is not None else 1
        self.gamma_2 = nn.Parameter(ls * torch.ones(dim)) if ls is not None else 1
        self.mixer_attr = None

    def mix(self, x):
        return self._ext[0](x)


class LGFILayer(nn.Module):
    def __init__(self, cfg, dim, depth, attn_depth, heads, ws, downsample, out_dim):
        super().__init__()
        self.cfg = cfg
        self.window_size = ws
        self.depth = depth
        self.blocks = nn.ModuleList(
            [ExtractorBlock(dim, cfg) for _ in range(depth)] +
            [Block(dim, Attention(dim, heads), cfg["mlpRatio"], cfg["layerScale"]) for _ in range(attn_depth)])
        self.downsample = Downsample(dim, out_dim) if downsample else None

    def forward_blocks(self, x):
        B, C, H, W = x.shape
        ws = self.window_size

        def to_tokens(m, local):
            return window_partition(m, ws) if local else m.flatten(2).transpose(1, 2)

        def to_map(t, local):
            return window_reverse(t, ws, H, W) if local else t.transpose(1, 2).reshape(B, C, H, W)

        ext_local = self.cfg["extractor"] == "local"
        att_local = self.cfg["attention"] == "local"
        if self.depth > 0:
            t = to_tokens(x, ext_local)
            for blk in self.blocks[:self.depth]:
                blk._ext[0].grid = (ws, ws) if ext_local else (H, W)
                t = blk(t)
            x = to_map(t, ext_local)
        if len(self.blocks) > self.depth:
            t = to_tokens(x, att_local)
            for blk in self.blocks[self.depth:]:
                t = blk(t)
            x = to_map(t, att_local)
        return x


def halve(n):
    return (n - 1) // 2 + 1


class Net(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        dims, n = cfg["dims"], len(cfg["dims"])
        ws = cfg["windowSize"]
        ws = ws if isinstance(ws, list) else [ws] * n
        self.patch_embed = PatchEmbed(cfg["inChannels"], cfg["stemDim"], dims[0])
        self.levels = nn.ModuleList()
        for i in range(n):
            down = i < n - 1
            out_dim = dims[i + 1] if down else None
            if i < cfg["convStages"] or cfg["family"] == "mambavision":
                self.levels.append(MambaVisionLayer(cfg, i, dims[i], cfg["depths"][i], cfg["heads"][i], ws[i],
                                                    i < cfg["convStages"], down, out_dim))
            else:
                self.levels.append(LGFILayer(cfg, dims[i], cfg["depths"][i], cfg["attentionDepths"][i],
                                             cfg["heads"][i], ws[i], down, out_dim))
        self.norm = nn.BatchNorm2d(dims[-1])
        if cfg["head"] == "linear":
            self.head = nn.Linear(dims[-1], cfg["numClasses"])
        else:
            self.head_coarse = nn.Linear(dims[-1], 4)
            self.head_fine = nn.Linear(dims[-1], 4)

    def forward(self, x):
        feats = []
        x = self.patch_embed(x)
        for lvl in self.levels:
            x = lvl.forward_blocks(x)
            feats.append(x)
            if lvl.downsample is not None:
                x = lvl.downsample(x)
        x = self.norm(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        if self.cfg["head"] == "linear":
            return {"logits": self.head(x)}, feats
        return {"coarse": self.head_coarse(x), "fine": self.head_fine(x)}, feats


def randomise(model, gen):
    """Draws every parameter and buffer at a scale where all of them matter."""
    sd = model.state_dict()
    out = {}
    for name, t in sd.items():
        shape = t.shape
        if name.endswith("num_batches_tracked"):
            out[name] = torch.tensor(7, dtype=torch.int64)
        elif name.endswith("running_var"):
            out[name] = 0.5 + torch.rand(shape, generator=gen)
        elif name.endswith("running_mean"):
            out[name] = 0.2 * torch.randn(shape, generator=gen)
        elif "gamma" in name:
            out[name] = 0.5 + 0.5 * torch.rand(shape, generator=gen)
        elif name.endswith("A_log"):
            out[name] = t + 0.1 * torch.randn(shape, generator=gen)
        elif name.endswith(".D"):
            out[name] = 1 + 0.2 * torch.randn(shape, generator=gen)
        elif name.endswith("dt_proj.bias"):
            out[name] = -2 + 0.5 * torch.randn(shape, generator=gen)
        elif t.dim() == 1:  # norm weights/biases and linear/conv biases
            base = 1.0 if ("norm" in name or "conv_down.1" in name or "conv_down.4" in name) and name.endswith("weight") else 0.0
            out[name] = base + 0.1 * torch.randn(shape, generator=gen)
        else:
            fan_in = t[0].numel()
            out[name] = torch.randn(shape, generator=gen) / math.sqrt(fan_in)
    model.load_state_dict(out)


CASES = {
    "mambavision_tiny": {
        "family": "mambavision", "inputSize": 48, "inChannels": 2, "stemDim": 8,
        "dims": [8, 16, 24, 32], "depths": [1, 1, 3, 2], "attentionDepths": [0, 0, 0, 0],
        "heads": [1, 2, 2, 4], "windowSize": [4, 4, 2, 2], "convStages": 2, "mlpRatio": 2,
        "scans": ["h"], "extractor": "local", "attention": "local", "head": "linear",
        "numClasses": 5, "dropout": 0, "dropPath": 0, "layerScale": 1e-5,
        "mixer": {"dState": 8, "dConv": 3, "expand": 1, "dtBiasTwice": True},
    },
    "merba_tiny": {
        "family": "merba", "inputSize": 48, "inChannels": 2, "stemDim": 8,
        "dims": [8, 16, 24, 32], "depths": [1, 2, 1, 1], "attentionDepths": [0, 1, 1, 1],
        "heads": [1, 2, 2, 4], "windowSize": [3, 3, 3, 2], "convStages": 1, "mlpRatio": 2,
        "scans": ["h", "v", "hz", "vz"], "extractor": "local", "attention": "global", "head": "dgcm",
        "numClasses": 7, "dropout": 0, "dropPath": 0, "layerScale": 1e-5,
        "mixer": {"dState": 8, "dConv": 3, "expand": 1, "dtBiasTwice": True},
    },
    "merba_variant": {
        "family": "merba", "inputSize": [48, 96], "inChannels": 3, "stemDim": 8,
        "dims": [8, 16, 16, 32], "depths": [1, 1, 1, 1], "attentionDepths": [0, 1, 1, 0],
        "heads": [1, 2, 4, 4], "windowSize": [3, 3, 3, 1], "convStages": 1, "mlpRatio": 2,
        "scans": ["vz-m", "h-r", "hz-rm"], "extractor": "global", "attention": "local", "head": "linear",
        "numClasses": 3, "dropout": 0, "dropPath": 0, "layerScale": None,
        "mixer": {"dState": 4, "dConv": 3, "expand": 2, "dtBiasTwice": False},
    },
}


def main():
    torch.manual_seed(0)
    for k, (name, cfg) in enumerate(CASES.items()):
        gen = torch.Generator().manual_seed(100 + k)
        model = Net(cfg)
        randomise(model, gen)
        size = cfg["inputSize"]
        h, w = (size, size) if isinstance(size, int) else size
        x = torch.randn(2, cfg["inChannels"], h, w, generator=gen)
        model.eval()
        with torch.no_grad():
            out, feats = model(x)
        io = {"input": x}
        io.update(out)
        for i, f in enumerate(feats):
            io[f"features.{i}"] = f
        # one training-mode pass (batch statistics; dropout/drop path are 0):
        model.train()
        with torch.no_grad():
            tout, _ = model(x)
        for key, v in tout.items():
            io[f"train.{key}"] = v
        for bn_name, t in model.state_dict().items():
            if "running" in bn_name or "num_batches" in bn_name:
                io[f"after.{bn_name}"] = t
        sd = {kk: v for kk, v in Net(cfg).state_dict().items()}  # key order check
        assert sorted(sd) == sorted(model.state_dict())
        # weights are the randomised ones (pre-training-pass running stats)
        model2 = Net(cfg)
        randomise(model2, torch.Generator().manual_seed(100 + k))
        save_safetensors(os.path.join(HERE, f"{name}.weights.safetensors"), model2.state_dict(),
                         {"generator": "model/testdata/gen_fixtures.py", "case": name})
        save_safetensors(os.path.join(HERE, f"{name}.io.safetensors"), io,
                         {"generator": "model/testdata/gen_fixtures.py", "case": name})
        with open(os.path.join(HERE, f"{name}.config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        n_params = sum(p.numel() for p in model.parameters())
        print(name, "params", n_params, {kk: tuple(v.shape) for kk, v in out.items()})


if __name__ == "__main__":
    main()
