"""Models with batch bugs, a deep failure, reuse, several inputs and dtype changes."""

import torch
from torch import nn


class Doubling(nn.Module):
    """view(-1, 256) on 512 features per sample: the batch doubles, silently."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(256, 10)

    def forward(self, x):
        x = self.pool(self.conv(x))
        x = x.view(-1, 256)
        return self.fc(x)


class BatchMixing(nn.Module):
    """Normalises with the mean of the whole batch: sample i depends on sample j."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        x = self.conv(x).mean((2, 3))
        x = x - x.mean(0)
        return self.fc(x)


class Stage(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.Conv2d(c_in, c_out, 3, padding=1)
        )  # bug: should take c_out

    def forward(self, x):
        return self.blocks(x)


class DeepFailure(nn.Module):
    """The second stage's second conv expects 32 channels but receives 64."""

    def __init__(self) -> None:
        super().__init__()
        self.stages = nn.ModuleList([Stage(3, 32), Stage(32, 64)])

    def forward(self, x):
        for stage in self.stages:
            x = stage(x)
        return x


class ImageAndVector(nn.Module):
    """Two inputs; one module (act) reused; the head runs in float64."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.act = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.meta = nn.Linear(10, 8)
        self.head = nn.Linear(16, 2).double()

    def forward(self, image, vector):
        a = self.pool(self.act(self.conv(image))).flatten(1)
        b = self.act(self.meta(vector))
        return self.head(torch.cat([a, b], 1).double())
