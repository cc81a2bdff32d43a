"""Reference networks written directly in torch, for the peer benchmark and as a cross-check.

torchvision has no CPU build here, so these follow torchvision's definitions by hand;
their parameter counts must equal the published ones (and cnncalc's YAML examples).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def lenet5() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10),
    )  # fmt: skip


def vgg16() -> nn.Module:
    layers: list[nn.Module] = []
    c = 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            assert isinstance(v, int)
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v
    return nn.Sequential(
        *layers, nn.AdaptiveAvgPool2d(7), nn.Flatten(), nn.Linear(512 * 49, 4096), nn.ReLU(True), nn.Dropout(),
        nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(), nn.Linear(4096, 1000),
    )  # fmt: skip


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.down = _down(cin, planes, stride)

    def forward(self, x: Any) -> Any:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (self.down(x) if self.down is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.down = _down(cin, planes * 4, stride)

    def forward(self, x: Any) -> Any:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (self.down(x) if self.down is not None else x))


def _down(cin: int, cout: int, stride: int) -> nn.Module | None:
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


def resnet(block: type[Basic] | type[Bottleneck], counts: list[int]) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(True),
                               nn.MaxPool2d(3, 2, 1)]  # fmt: skip
    cin = 64
    for i, n in enumerate(counts):
        planes = 64 * 2**i
        for j in range(n):
            layers.append(block(cin, planes, 2 if (j == 0 and i > 0) else 1))
            cin = planes * block.expansion
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000))


class UNet(nn.Module):
    def __init__(self, base: int = 16, classes: int = 2) -> None:
        super().__init__()

        def double(cin: int, cout: int) -> nn.Module:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True),
            )  # fmt: skip

        self.enc1, self.enc2, self.mid = double(1, base), double(base, 2 * base), double(2 * base, 4 * base)
        self.pool = nn.MaxPool2d(2)
        self.up2, self.dec2 = nn.ConvTranspose2d(4 * base, 2 * base, 2, 2), double(4 * base, 2 * base)
        self.up1, self.dec1 = nn.ConvTranspose2d(2 * base, base, 2, 2), double(2 * base, base)
        self.head = nn.Conv2d(base, classes, 1)

    def forward(self, x: Any) -> Any:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)


MODELS: dict[str, tuple[Any, tuple[int, ...]]] = {
    "lenet5": (lenet5, (1, 32, 32)),
    "resnet18": (lambda: resnet(Basic, [2, 2, 2, 2]), (3, 224, 224)),
    "resnet50": (lambda: resnet(Bottleneck, [3, 4, 6, 3]), (3, 224, 224)),
    "vgg16": (vgg16, (3, 224, 224)),
    "unet": (UNet, (1, 64, 64)),
}


def resnet50() -> nn.Module:
    """ResNet-50 as a factory (``benchmarks.models:resnet50`` as a Python target)."""
    return resnet(Bottleneck, [3, 4, 6, 3])


class MnistNet(nn.Module):
    """PyTorch's MNIST example network (torchinfo's ``SingleInputNet``): two convolutions, two linears."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d(0.3)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x: Any) -> Any:
        x = torch.relu(torch.max_pool2d(self.conv1(x), 2))
        x = torch.relu(torch.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = torch.relu(self.fc1(x.view(-1, 320)))
        return torch.log_softmax(self.fc2(x), dim=1)


# in-process summary: cnncalc.summary against torchinfo.summary, the same call (benchmarks/run.py --summary)
SUMMARY_MODELS: dict[str, tuple[Any, tuple[int, ...]]] = {
    "resnet18": (MODELS["resnet18"][0], (1, 3, 224, 224)),
    "resnet50": (MODELS["resnet50"][0], (1, 3, 224, 224)),
    "mnist": (MnistNet, (1, 1, 28, 28)),
}
