"""Targets that cannot be instantiated as given."""

from torch import nn


class NeedsArgs(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(4, num_classes)

    def forward(self, x):
        return self.fc(x)


class Broken(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        raise ValueError("no weights file")


NOT_A_MODEL = 3


def factory_of_nothing():
    return "not a model"
