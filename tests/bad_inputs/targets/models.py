"""Hostile Python targets: each misbehaves in one way (the cases are in tests/bad_inputs/cases.yml)."""

import sys
import time

import torch
from torch import nn


class Base(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)


class ExitInInit(Base):
    def __init__(self) -> None:
        super().__init__()
        sys.exit(0)


class ExitInForward(Base):
    def forward(self, x):
        sys.exit(3)


class ExitLater(Base):
    """Runs at batch 2, exits at batch 3 (the batch check)."""

    def forward(self, x):
        if x.shape[0] == 3:
            sys.exit(0)
        return self.fc(x)


class InterruptInForward(Base):
    def forward(self, x):
        raise KeyboardInterrupt


class LoopInForward(Base):
    def forward(self, x):
        while True:
            x = x + 0


class SleepInForward(Base):
    def forward(self, x):
        time.sleep(10_000)


class LoopInInit(Base):
    def __init__(self) -> None:
        super().__init__()
        while True:
            pass


class CatchesEverything(Base):
    """A forward that swallows Exception: the time limit still stops it."""

    def forward(self, x):
        while True:
            try:
                time.sleep(10_000)
            except Exception:
                pass


class ReturnsNone(Base):
    def forward(self, x):
        self.fc(x)


class ReturnsInt(Base):
    def forward(self, x):
        return 3


class ReturnsStr(Base):
    def forward(self, x):
        return "logits"


class ReturnsGenerator(Base):
    def forward(self, x):
        return (y for y in [self.fc(x)])


class ReturnsEmptyDict(Base):
    def forward(self, x):
        return {}


class ParametersRaise(Base):
    def parameters(self, recurse=True):
        raise RuntimeError("parameters are not ready")


class NamedModulesRaise(Base):
    def named_modules(self, *args, **kwargs):
        raise ValueError("no modules today")


def deeply_nested():
    m = nn.Linear(4, 4)
    for _ in range(3000):
        m = nn.Sequential(m)
    return m


class PrintsEverywhere(Base):
    def __init__(self) -> None:
        super().__init__()
        print("constructing PrintsEverywhere")

    def forward(self, x):
        print("hello from forward")
        sys.stdout.write("more output\n")
        return self.fc(x)


class MetaBillion(nn.Module):
    """About 10**9 parameters, never stored: built on the meta device."""

    def __init__(self) -> None:
        super().__init__()
        with torch.device("meta"):
            self.fc = nn.Linear(40_000, 25_000)

    def forward(self, x):
        return self.fc(x)


class Upsampler(nn.Module):
    """Its output is 10**8 times its input: the forward pass runs out of memory inside the model."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.Upsample(scale_factor=10_000)

    def forward(self, x):
        return self.up(x)


class HostileNames(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.add_module("\x1b[31mred\x1b[0m", nn.Linear(4, 4))
        self.add_module("[bold red]mark[/][link=file:///etc/passwd]x[/link]", nn.ReLU())
        self.add_module("new\nline\rreturn", nn.Identity())

    def forward(self, x):
        for m in self.children():
            x = m(x)
        return x


EscapeClass = type("\x1b[2J\u202eEvil", (HostileNames,), {})


def factory_exits():
    exit(2)


class ReturnsEmptySlice(Base):
    def forward(self, x):
        return self.fc(x)[:, :0]  # a zero-size dim, traced as a Narrow of length 0
