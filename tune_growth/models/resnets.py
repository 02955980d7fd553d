"""ResNets that take pretrained bodies: torchvision's resnet18/34/50 (so torchvision's published
ImageNet weight files load as they are) and fastai's xresnet18/34/50 (He et al. 2019, "Bag of
Tricks": ResNet-C stem of three 3x3 convs, ResNet-D shortcut that average-pools before its 1x1
conv, zero-initialised last BatchNorm in each residual branch).

Both are grouped as stem, layer1..layer4, head (a new fastai head sized to the dataset's classes),
so a schedule stage can freeze the body and give each stage of it its own LR multiplier. Their
records (depths, which ImageNet weights load) are in the registry (registry.py).
"""

from __future__ import annotations

import torch
from torch import nn

from tune_growth.models.blocks import ch, conv_bn, fastai_head, grouped

# torchvision state-dict prefix -> ours (the layerN blocks are torchvision's own modules).
TORCHVISION_PREFIXES = {"conv1.": "stem.0.", "bn1.": "stem.1."}


def torchvision_resnet(depth: str, in_channels: int, num_classes: int, width: float = 1.0) -> nn.Sequential:
    """torchvision's ResNet with its stem and four stages regrouped, and fastai's head. A 1-channel
    input gets a 1-channel stem conv (pretrained RGB weights are summed over colour on loading)."""
    if width != 1.0:
        raise ValueError(f"width={width!r} is invalid for {depth}; expected 1.0 (torchvision's layout is fixed)")
    # imported here, not at the top: torchvision pulls in torch._dynamo (~2 s a process), which the
    # search and study drivers, the report and every bad-input exit would pay without training (a
    # trainer pays it anyway: torch.optim imports torch._dynamo when the first optimizer is built)
    import torchvision

    net = getattr(torchvision.models, depth)(weights=None, zero_init_residual=True)
    if in_channels != 3:
        net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return grouped(stem=[net.conv1, net.bn1, net.relu, net.maxpool], layer1=net.layer1, layer2=net.layer2,
                   layer3=net.layer3, layer4=net.layer4, head=fastai_head(net.fc.in_features, num_classes))


class XBlock(nn.Module):
    """fastai's ResBlock: basic (expansion 1: two 3x3) or bottleneck (expansion 4: 1x1, 3x3, 1x1)
    branch ending in a zero-initialised BN; the shortcut average-pools (stride 2) and then projects
    with a 1x1 conv when the shape changes (ResNet-D)."""

    def __init__(self, expansion: int, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        hidden = c_out // expansion
        if expansion == 1:
            self.branch = nn.Sequential(conv_bn(c_in, hidden, stride=stride),
                                        conv_bn(hidden, c_out, act=False, zero_bn=True))
        else:
            self.branch = nn.Sequential(conv_bn(c_in, hidden, 1, 0), conv_bn(hidden, hidden, stride=stride),
                                        conv_bn(hidden, c_out, 1, 0, act=False, zero_bn=True))
        shortcut = [nn.AvgPool2d(2, ceil_mode=True)] if stride != 1 else []
        if c_in != c_out:
            shortcut.append(conv_bn(c_in, c_out, 1, 0, act=False))
        self.shortcut = nn.Sequential(*shortcut)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.branch(x) + self.shortcut(x))


def xresnet(expansion: int, blocks: tuple[int, ...], in_channels: int, num_classes: int,
            width: float = 1.0) -> nn.Sequential:
    """fastai's XResNet: stem 32-32-64 (first conv stride 2) + 3x3 max pool, four stages of
    64/128/256/512 x expansion channels (times `width`), fastai's head."""
    stem_ch = [in_channels, ch(32, width), ch(32, width), ch(64, width)]
    stem = [conv_bn(stem_ch[i], stem_ch[i + 1], stride=2 if i == 0 else 1) for i in range(3)]
    stem.append(nn.MaxPool2d(3, stride=2, padding=1))
    sizes = [stem_ch[-1]] + [ch(c, width) * expansion for c in (64, 128, 256, 512)]
    stages = {}
    for i, n in enumerate(blocks):
        stride = 1 if i == 0 else 2
        stages[f"layer{i + 1}"] = [XBlock(expansion, sizes[i] if j == 0 else sizes[i + 1], sizes[i + 1],
                                          stride if j == 0 else 1) for j in range(n)]
    return grouped(stem=stem, **stages, head=fastai_head(sizes[-1], num_classes))

