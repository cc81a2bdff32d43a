"""Real-style idioms the symbolic engine must trace (issue 22): each class is one idiom."""

import torch
import torch.nn.functional as F
from torch import nn


class InterpScale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)

    def forward(self, x):
        return F.interpolate(self.conv(x), scale_factor=2, mode="nearest")


class InterpSize(nn.Module):
    """Decoder upsampling to the skip's size: size=skip.shape[2:]."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.skip = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        skip = self.skip(x)
        y = F.interpolate(self.down(x), size=skip.shape[2:], mode="bilinear", align_corners=False)
        return torch.cat([y, skip], dim=1)


class UNetPad(nn.Module):
    """U-Net's up step: pad the upsampled map by the computed difference (dx // 2, dx - dx // 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ConvTranspose2d(4, 4, 2, stride=2)

    def forward(self, x):
        x1 = self.enc(x)
        x2 = self.up(self.pool(x1))
        dy = x1.size()[2] - x2.size()[2]
        dx = x1.size()[3] - x2.size()[3]
        x2 = F.pad(x2, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return torch.cat([x1, x2], dim=1)


class SqueezeExcite(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc1 = nn.Linear(8, 2)
        self.fc2 = nn.Linear(2, 8)

    def forward(self, x):
        x = self.conv(x)
        s = F.adaptive_avg_pool2d(x, 1).view(x.size(0), -1)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s.view(x.size(0), -1, 1, 1)


class Pool3d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(1, 16, 3)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        x = F.adaptive_avg_pool3d(self.conv(x), 1).view(x.size(0), -1)
        return self.fc(x)


class ShapeZero(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        x = self.conv(x)
        return x.reshape(x.shape[0], 4, -1).mean(-1)


class CropCat(nn.Module):
    """Crop the skip to the decoder's size (the original U-Net crops instead of padding)."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Conv2d(3, 4, 3)
        self.dec = nn.Conv2d(4, 4, 3)

    def forward(self, x):
        skip = self.enc(x)
        y = self.dec(skip)
        dh = (skip.size(2) - y.size(2)) // 2
        dw = (skip.size(3) - y.size(3)) // 2
        crop = skip[:, :, dh : dh + y.size(2), dw : dw + y.size(3)]
        return torch.cat([crop, y], 1)


class ChunkSplit(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        a, b = self.conv(x).chunk(2, dim=1)
        c, d = torch.split(b, [1, 3], dim=1)
        return torch.cat([a, c, d.transpose(2, 3).transpose(2, 3)], dim=1)


class KeepDim(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        x = self.conv(x)
        return x - x.mean(dim=(2, 3), keepdim=True) + x.amax(dim=1, keepdim=True)


class GlobalPools(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(3, 4, 3)

    def forward(self, x):
        y = self.conv1(x)
        return torch.cat([F.adaptive_max_pool1d(y, 1), F.adaptive_avg_pool1d(y, 1)], dim=1).flatten(1)


class WrongView(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(576, 10)

    def forward(self, x):
        x = F.relu(self.conv(x))
        x = x.view(-1, 576)
        return self.fc(x)
