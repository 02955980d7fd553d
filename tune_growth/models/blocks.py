"""Building blocks the model files share: channel scaling, conv-BN-ReLU, named layer groups, and
fastai's classifier head for pretrained bodies."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


def ch(base: int, width: float) -> int:
    """A channel count scaled by `width`, at least 4."""
    return max(4, int(round(base * width)))


def conv_bn(c_in: int, c_out: int, kernel: int = 3, pad: int = 1, stride: int = 1, act: bool = True,
            zero_bn: bool = False) -> nn.Sequential:
    """Conv (no bias) -> BatchNorm -> ReLU. `zero_bn` starts the BN scale at 0, so a residual
    branch ending here starts as the identity (Goyal et al. 2017, fastai's zero_bn)."""
    bn = nn.BatchNorm2d(c_out)
    if zero_bn:
        nn.init.zeros_(bn.weight)
    layers = [nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=pad, bias=False), bn]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if act else nn.Sequential(*layers)


def grouped(**groups: nn.Module | list[nn.Module]) -> nn.Sequential:
    """An nn.Sequential whose named children are the model's layer groups, in forward order; a
    list becomes an nn.Sequential. The last group is the head (see groups.py)."""
    return nn.Sequential(OrderedDict((name, g if isinstance(g, nn.Module) else nn.Sequential(*g))
                                     for name, g in groups.items()))


class ConcatPool(nn.Module):
    """Global average and max pooling side by side (fastai's AdaptiveConcatPool2d): 2 x channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.amax(dim=(-2, -1)), x.mean(dim=(-2, -1))], dim=1)


def fastai_head(n_features: int, num_classes: int, hidden: int = 512, dropout: float = 0.5) -> list[nn.Module]:
    """fastai's create_head: concat pool, then BN-dropout-linear twice (dropout p/2 then p), ReLU
    between, linear layers without bias (a BatchNorm precedes each). The pooling is parameter-free,
    so the activation cache of a frozen body stores pooled features (2 x n_features per image)."""
    return [ConcatPool(), nn.Flatten(),
            nn.BatchNorm1d(2 * n_features), nn.Dropout(dropout / 2), nn.Linear(2 * n_features, hidden, bias=False),
            nn.ReLU(inplace=True),
            nn.BatchNorm1d(hidden), nn.Dropout(dropout), nn.Linear(hidden, num_classes, bias=False)]
