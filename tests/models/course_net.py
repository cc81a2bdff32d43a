"""The course network: correct only for 28x28 inputs (view(-1, 512) then Linear(512, 53))."""

import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self, num_classes: int = 53) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 5)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 5)
        self.pool2 = nn.MaxPool2d(2)
        self.fc3 = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.pool1(F.relu(self.conv1(x)))
        x = self.pool2(F.relu(self.conv2(x)))
        x = x.view(-1, 512)
        return self.fc3(x)


class FlatNet(Net):
    """The same network with a batch-safe flatten: a wrong size now fails in fc3."""

    def forward(self, x):
        x = self.pool1(F.relu(self.conv1(x)))
        x = self.pool2(F.relu(self.conv2(x)))
        x = x.flatten(1)
        return self.fc3(x)


def make_sequential(num_classes: int = 53) -> nn.Sequential:
    """The same network as an nn.Sequential (a factory)."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(512, num_classes),
    )
