"""Models whose accepted input sizes are independent per dim, tied to be equal, or tied in blocks."""

import torch
import torch.nn.functional as F
from torch import nn


class Strided(nn.Module):
    """Fully convolutional, four halvings and a skip: H and W each a multiple of 16, independently."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=16)

    def forward(self, x):
        y = self.conv(x)
        z = self.pool(self.pool(self.pool(self.pool(y))))
        return y + self.up(z)


class Square(nn.Module):
    """A residual with the transpose: needs H = W."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3)

    def forward(self, x):
        x = self.conv(x)
        return x + x.transpose(2, 3)


class Blocks(nn.Module):
    """flatten then Linear(576): 16·⌊(H − 6)/4⌋·⌊(W − 6)/4⌋ == 576, non-square pairs far from the diagonal."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3)
        self.conv2 = nn.Conv2d(8, 16, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(576, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


class Window(nn.Module):
    """Each dim on its own in a window: Linear(7) over W, then over H: H in 32..35, W in 32..35."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 5)
        self.pool = nn.MaxPool2d(4)
        self.fc_w = nn.Linear(7, 2)
        self.fc_h = nn.Linear(7, 2)

    def forward(self, x):
        x = self.pool(self.conv(x))  # 4 x ⌊(H − 4)/4⌋ x ⌊(W − 4)/4⌋
        x = self.fc_w(x).transpose(2, 3)
        return self.fc_h(x)
