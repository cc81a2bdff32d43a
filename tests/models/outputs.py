"""Residual models with dict, tuple and dataclass outputs."""

from dataclasses import dataclass

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(y)))


class ResidualDict(nn.Module):
    """Returns {"logits": (B, 10), "features": (B, 16, 8, 8)}."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.layer1 = nn.Sequential(Block(16), Block(16))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(16, num_classes)

    def forward(self, x):
        f = self.layer1(self.stem(x))
        return {"logits": self.head(self.pool(f).flatten(1)), "features": f}


class ResidualNet(ResidualDict):
    """The same network returning only the logits: torch.fx traces it."""

    def forward(self, x):
        return self.head(torch.flatten(self.pool(self.layer1(self.stem(x))), 1))


@dataclass
class Detections:
    boxes: torch.Tensor
    scores: torch.Tensor


class TwoHeads(nn.Module):
    """A tuple of a dataclass and a tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4))
        self.boxes = nn.Conv2d(8, 4, 1)
        self.scores = nn.Conv2d(8, 1, 1)

    def forward(self, x):
        f = self.body(x)
        return Detections(self.boxes(f), self.scores(f).sigmoid()), f.mean((2, 3))
