"""Small models written with the idioms of real ones (torchvision, timm), for the symbolic pass and the checks."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class UpNearest(nn.Module):
    """nn.Upsample in nearest mode (align_corners stays None), as U-Nets and FPNs write it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.up = nn.Upsample(scale_factor=2)

    def forward(self, x: Any) -> Any:
        return self.up(self.conv(x))


class CatOne(nn.Module):
    """torch.cat of a one-element list (DenseNet's first layer)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: Any) -> Any:
        features = [self.conv(x)]
        return torch.cat(features, 1)


class SqueezeExcite(nn.Module):
    """The squeeze-excitation gate: ``scale * x``, scale of shape (C, 1, 1); then x.mean([2, 3]) (MnasNet)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(8, 2, 1)
        self.fc2 = nn.Conv2d(2, 8, 1)
        self.head = nn.Linear(8, 5)

    def forward(self, x: Any) -> Any:
        x = self.conv(x)
        scale = torch.sigmoid(self.fc2(F.relu(self.fc1(self.pool(x)))))
        x = scale * x
        return self.head(x.mean([2, 3]))


def channel_shuffle(x: Any, groups: int) -> Any:
    batchsize, num_channels, height, width = x.size()
    channels_per_group = num_channels // groups
    x = x.view(batchsize, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batchsize, -1, height, width)


class Shuffle(nn.Module):
    """ShuffleNet's unit: chunk, a branch, cat, channel shuffle through x.size() arithmetic."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.branch = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, groups=4), nn.BatchNorm2d(4), nn.ReLU())
        self.pool = nn.MaxPool2d(3, 2)

    def forward(self, x: Any) -> Any:
        x = self.stem(x)
        x1, x2 = x.chunk(2, dim=1)
        out = torch.cat((x1, self.branch(x2)), dim=1)
        return self.pool(channel_shuffle(out, 2))


class LayerNorm2d(nn.LayerNorm):
    """ConvNeXt's channels-first LayerNorm: permute, F.layer_norm with the module's own weight, permute back."""

    def forward(self, x: Any) -> Any:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtish(nn.Module):
    """Permutes, a channels-last MLP, a learned per-channel scale, a residual, an optional mask argument."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 4, stride=4)
        self.norm = LayerNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 7, padding=3, groups=8)
        self.ln = nn.LayerNorm(8)
        self.fc1 = nn.Linear(8, 32)
        self.fc2 = nn.Linear(32, 8)
        self.gamma = nn.Parameter(torch.full((8, 1, 1), 1e-6))

    def forward(self, x: Any, mask: Any = None) -> Any:
        x = self.norm(self.stem(x))
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.fc2(F.gelu(self.fc1(self.ln(y)))).permute(0, 3, 1, 2)
        if mask is not None:
            y = y * mask
        x = x + self.gamma * y
        return torch.flatten(x, 1)


class Detector(nn.Module):
    """A detector's output: one dict per image, with as many boxes as the data gives (0 or more)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, images: Any) -> Any:
        feats = self.conv(images)
        out = []
        for f in feats:
            keep = torch.nonzero(f[0].flatten() > 0.5).flatten()[:100]
            out.append({"boxes": f[:, 0, 0].repeat(keep.numel(), 1), "scores": f[0].flatten()[keep]})
        return out


class ViTish(nn.Module):
    """A vision transformer in torchvision's words: asserts on the size, a class token, a position embedding,
    self-attention, the class token read back with x[:, 0]."""

    def __init__(self, image: int = 32, patch: int = 8, dim: int = 12) -> None:
        super().__init__()
        self.image, self.patch, self.dim = image, patch, dim
        self.proj = nn.Conv2d(3, dim, patch, stride=patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, (image // patch) ** 2 + 1, dim))
        self.ln = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, 3, batch_first=True)
        self.head = nn.Linear(dim, 4)

    def forward(self, x: Any) -> Any:
        n, _, h, w = x.shape
        torch._assert(h == self.image, "wrong image height")
        n_h, n_w = h // self.patch, w // self.patch
        x = self.proj(x).reshape(n, self.dim, n_h * n_w).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1) + self.pos
        y = self.ln(x)
        y, _ = self.attention(y, y, y, need_weights=False)
        return self.head((x + y)[:, 0])
