"""PyTorch side of `npm run bench -- clip --variant dpam`: AnomalyCLIP's DPAM vision tower, written here.

Usage: clip_dpam_reference.py SIZE PATCH LAYERS WIDTH EMBED BATCH THREADS DPAM_LAYER HOOKS
(HOOKS comma-separated, 1-based). Random weights of the given shape; prints {"ready": torch version},
then answers each stdin line "B" (run B images) with {"seconds": ...}.

The computation follows AnomalyCLIP's released vision tower with `DAPM_replace(DPAM_layer)` applied
and ffn off: the last DPAM_LAYER - 1 blocks compute, from ln_1 of the q-k stream, both the block's
q-k attention and the v-v attention softmax(v v^T / sqrt(head_dim)) v through the same in_proj /
out_proj; the q-k stream goes on through the MLP, the v-v stream (seeded with the q-k stream at the
first replaced block) skips it. Hooked outputs of replaced blocks are the v-v stream; the image
feature is the q-k stream's class token @ proj, without ln_post. Earlier blocks are CLIP's own, on
nn.MultiheadAttention (PyTorch's fused path in eval + no_grad).
"""
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.c_fc, self.c_proj = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def mlp(self, x):
        h = self.c_fc(self.ln_2(x))
        return x + self.c_proj(h * torch.sigmoid(1.702 * h))

    def forward(self, x):
        h = self.ln_1(x)
        return self.mlp(x + self.attn(h, h, h, need_weights=False)[0])

    def dual(self, x, vv):
        """One DPAM block: (q-k stream, v-v stream) -> the same after this block."""
        h = self.ln_1(x)
        b, n, c = h.shape
        qkv = F.linear(h, self.attn.in_proj_weight, self.attn.in_proj_bias)
        q, k, v = qkv.reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        scale = (c // self.heads) ** -0.5

        def attend(scores):
            return self.attn.out_proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c))

        qk = attend((q @ k.transpose(-2, -1)) * scale)
        vv_res = attend((v @ v.transpose(-2, -1)) * scale)
        return self.mlp(x + qk), (x if vv is None else vv) + vv_res


class DpamTower(nn.Module):
    def __init__(self, size, patch, layers, width, embed, dpam_layer, hooks):
        super().__init__()
        if not 2 <= dpam_layer <= layers + 1:
            raise ValueError(f"DPAM_LAYER must be in 2..{layers + 1}, got {dpam_layer}")
        grid, scale = size // patch, width ** -0.5
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(1 + grid * grid, width))
        self.ln_pre = nn.LayerNorm(width)
        self.blocks = nn.ModuleList(Block(width, width // 64) for _ in range(layers))
        self.proj = nn.Parameter(scale * torch.randn(width, embed))
        self.first_dpam = layers - dpam_layer + 2
        self.hooks = set(hooks)

    def forward(self, x):
        x = self.conv1(x).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = self.ln_pre(torch.cat([cls, x], 1) + self.positional_embedding)
        vv, hooked = None, []
        for l, block in enumerate(self.blocks, 1):
            if l < self.first_dpam:
                x = block(x)
            else:
                x, vv = block.dual(x, vv)
            if l in self.hooks:
                hooked.append(x if vv is None else vv)
        return x[:, 0] @ self.proj, hooked


def main():
    size, patch, layers, width, embed, batch, threads, dpam_layer = map(int, sys.argv[1:9])
    hooks = [int(l) for l in sys.argv[9].split(",")]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m = DpamTower(size, patch, layers, width, embed, dpam_layer, hooks).eval()
    x = torch.randn(batch, 3, size, size)
    with torch.no_grad():
        m(x[:1])
        print(json.dumps({"ready": torch.__version__}), flush=True)
        for line in sys.stdin:
            t0 = time.perf_counter()
            m(x[: int(line)])
            print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)


if __name__ == "__main__":
    main()
