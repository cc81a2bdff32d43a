"""Models that break the batch: each works at some batch size and folds, drops or moves samples.

One class per idiom of the class (issue 22): ``view(-1, N)``, ``reshape(-1, ...)``,
``view(N, -1)``, ``flatten(0, ...)``, a ``mean``/``sum`` over dim 0, ``x[0]``, a permute
that moves the batch, and a softmax over dim 0 (samples mix). ``Good`` is the correct model.
"""

import torch
import torch.nn.functional as F
from torch import nn


class Base(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)  # 3x8x8 -> 8x6x6: 288 features per sample
        self.fc = nn.Linear(576, 10)

    def features(self, x):
        return F.relu(self.conv(x))


class ViewMinusOne(Base):
    """The issue's example: view(-1, 576) on 288 features; batch 2 gives (1, 10), batch 3 raises."""

    def forward(self, x):
        x = self.features(x)
        x = x.view(-1, 576)
        return self.fc(x)


class ReshapeMinusOne(Base):
    def forward(self, x):
        x = self.features(x)
        x = x.reshape(-1, 8, 72)
        return x.flatten(1)


class ViewFixedBatch(Base):
    """view(2, -1): right only at batch 2."""

    def forward(self, x):
        x = self.features(x)
        return x.view(2, -1)


class FlattenAll(Base):
    def forward(self, x):
        return self.features(x).flatten(0, 1)


class MeanOverBatch(Base):
    def forward(self, x):
        return self.features(x).mean(0)


class SumOverBatchKeep(Base):
    def forward(self, x):
        return self.features(x).sum(dim=0, keepdim=True)


class FirstSample(Base):
    def forward(self, x):
        return self.features(x)[0]


class PermuteBatch(Base):
    def forward(self, x):
        x = self.features(x).flatten(1)
        return x.permute(1, 0)


class SoftmaxOverBatch(Base):
    def forward(self, x):
        x = self.features(x).flatten(1)
        return torch.softmax(x, dim=0)


class Good(Base):
    def forward(self, x):
        x = self.features(x)
        x = x.view(x.size(0), -1)
        return x


class TransposeAfterLinear(Base):
    """The batch moved after several modules whose outputs are freed (their ids are reused by later tensors)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.fc2 = nn.Linear(288, 10)

    def forward(self, x):
        x = self.features(x)
        x = x + F.relu(self.conv2(x))
        x = self.fc2(torch.flatten(x, 1))
        return x.transpose(0, 1)
