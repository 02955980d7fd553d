"""Model registry: one record per model (timm's style) holding everything the package knows about
it: its builder (in_channels, num_classes, width) -> nn.Module, its layer groups, the inputs it
accepts, and the CPU precision and memory layout measured fastest for it. `build_model` is the one
factory; every other module reads a model's facts from its record.

Every model takes 1 or 3 input channels and any square input from 8 px up (adaptive or global
pooling before the classifier), so progressive resizing can change the image size between stages.
`width` scales channel counts (1.0 = the published layout), so ResNet-9 can run narrow on a CPU.

Every model is an nn.Sequential of named *layer groups* (e.g. stem, layer1..layer4, head; the
last is always "head"), the unit a schedule stage freezes and gives an LR multiplier (groups.py).
The small nets are in small.py; the ResNets that take pretrained bodies (torchvision's
resnet18/34/50 and fastai's xresnet) in resnets.py.

A user's model needs no registration: a name `package.module:factory` (IMPORT_SEP) imports that
callable (in_channels, num_classes, width) -> nn.Module wherever the model is built, so on each
trial's worker too. An nn.Sequential's children are its layer groups (the last should be the
head); any other module is one group, so stages that freeze groups are refused for it. Its own
initialisation is kept, and it runs in fp32 on the CPU (no precision was measured for it).
"""

from __future__ import annotations

import importlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Callable, Literal

from torch import nn

from tune_growth.models.resnets import torchvision_resnet, xresnet
from tune_growth.models.small import cnn, lenet5, mlp, resnet9

CpuPrecision = Literal["bf16", "fp32"]
CPU_PRECISIONS = ("bf16", "fp32")


@dataclass(frozen=True)
class ModelRecord:
    """All a registered model's metadata. factory: (in_channels, num_classes, width) -> the model;
    groups: its layer groups in forward order, the last "head" (a schedule's freeze_to counts
    them); in_channels: the channel counts it accepts; min_image_size: the smallest input side
    (px) it runs on; convolutional: whether it has convolutions (channels_last pays on CUDA only
    then); cpu_precision, cpu_channels_last: the fastest setting measured on a bf16-capable CPU,
    what `precision="auto"` picks there (the step times are in the README's benchmark section,
    "CPU precision and layout per model"); imagenet_weights: the torchvision weights enum that
    `--pretrained imagenet` loads, or None where there is none."""

    name: str
    factory: Callable[[int, int, float], nn.Module]
    groups: tuple[str, ...]
    cpu_precision: CpuPrecision
    cpu_channels_last: bool
    in_channels: tuple[int, ...] = (1, 3)
    min_image_size: int = 8
    convolutional: bool = True
    imagenet_weights: str | None = None
    init: bool = True  # He-initialise conv and linear weights (init_weights); a user's model keeps its own

    def __post_init__(self) -> None:
        if self.cpu_precision not in CPU_PRECISIONS:
            raise ValueError(f"model {self.name!r} cpu_precision={self.cpu_precision!r} is invalid; "
                             f"expected one of {', '.join(CPU_PRECISIONS)}")
        if not self.groups or self.groups[-1] != "head":
            raise ValueError(f"model {self.name!r} groups={self.groups!r} is invalid; expected the last to be 'head'")


BODY_HEAD = ("body", "head")
RESNET_GROUPS = ("stem", "layer1", "layer2", "layer3", "layer4", "head")


def _torchvision(depth: str, weights: str, cpu_precision: CpuPrecision, cpu_channels_last: bool) -> ModelRecord:
    return ModelRecord(depth, partial(torchvision_resnet, depth), RESNET_GROUPS, cpu_precision, cpu_channels_last,
                       imagenet_weights=weights)


def _xresnet(depth: int, expansion: int, blocks: tuple[int, ...], cpu_precision: CpuPrecision,
             cpu_channels_last: bool) -> ModelRecord:
    return ModelRecord(f"xresnet{depth}", partial(xresnet, expansion, blocks), RESNET_GROUPS, cpu_precision,
                       cpu_channels_last)


# The CPU settings: the fastest of fp32 / bf16 autocast, each NCHW and channels_last, on a
# bf16-capable CPU (README, "CPU precision and layout per model"); each comment says why.
_RECORDS = (
    # no convolutions, so the layout is moot; bf16 matmuls are the faster ones
    ModelRecord("mlp", mlp, BODY_HEAD, "bf16", False, convolutional=False),
    # bf16 and channels_last each shorten the step; together the most
    ModelRecord("cnn", cnn, BODY_HEAD, "bf16", True),
    # bf16 autocast alone is slower and bf16 + channels_last only ties fp32, which is exact
    ModelRecord("lenet5", lenet5, BODY_HEAD, "fp32", False),
    # as the cnn: bf16 and channels_last each shorten the step
    ModelRecord("resnet9", resnet9, ("prep", "layer1", "layer2", "layer3", "head"), "bf16", True),
    _torchvision("resnet18", "ResNet18_Weights", "bf16", True),  # bf16 + channels_last ahead of fp32
    _torchvision("resnet34", "ResNet34_Weights", "fp32", False),  # bf16 + channels_last only ties fp32, which is exact
    _torchvision("resnet50", "ResNet50_Weights", "bf16", True),  # the bottleneck's 1x1 convs gain most from bf16
    _xresnet(18, 1, (2, 2, 2, 2), "bf16", True),  # bf16 + channels_last ahead of fp32
    _xresnet(34, 1, (3, 4, 6, 3), "fp32", False),  # fp32 beats every bf16 setting
    _xresnet(50, 4, (3, 4, 6, 3), "bf16", True),  # the bottleneck's 1x1 convs gain most from bf16
)
MODELS: dict[str, ModelRecord] = {record.name: record for record in _RECORDS}


IMPORT_SEP = ":"  # --model my_package.my_module:factory


def _as_groups(model: nn.Module) -> nn.Sequential:
    """A user's model as layer groups: an nn.Sequential as it is, anything else as one group."""
    return model if isinstance(model, nn.Sequential) else nn.Sequential(OrderedDict(head=model))


@lru_cache(maxsize=None)
def imported_record(name: str) -> ModelRecord:
    """The record of `module:factory`, importing the module; a one-line ValueError when the module
    does not import or has no such callable."""
    module_name, _, attr = name.partition(IMPORT_SEP)
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except ImportError as err:
        raise ValueError(f"model {name!r}: module {module_name!r} does not import ({err}); expected an importable "
                         "module (installed, or on PYTHONPATH)") from None
    except AttributeError:
        raise ValueError(f"model {name!r}: module {module_name!r} has no {attr!r}; expected "
                         f"{module_name}:FACTORY naming a function of (in_channels, num_classes, width)") from None
    if not callable(factory):
        raise ValueError(f"model {name!r}: {attr!r} is not callable; expected a function of "
                         "(in_channels, num_classes, width) returning an nn.Module")

    def build(in_channels: int, num_classes: int, width: float) -> nn.Module:
        model = factory(in_channels, num_classes, width)
        if not isinstance(model, nn.Module):
            raise ValueError(f"model {name!r} returned {type(model).__name__}; expected an nn.Module")
        return _as_groups(model)

    return ModelRecord(name, build, ("head",), "fp32", False, init=False)


def model_record(name: str) -> ModelRecord:
    """The record of a registered model or of `module:factory` (imported_record); an unknown name
    raises a one-line ValueError naming it and the registered names."""
    if IMPORT_SEP in name:
        return imported_record(name)
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(sorted(MODELS))} "
                         f"or package.module{IMPORT_SEP}factory")
    return MODELS[name]


def check_model_name(name: str) -> str:
    """`name` if it names a registered or importable model (argparse's type for --model)."""
    model_record(name)
    return name


def init_weights(model: nn.Module) -> nn.Module:
    """He (kaiming-normal, fan-in, ReLU gain) weights and zero biases for every conv and linear
    layer, as fastai initialises. PyTorch's default (kaiming-uniform, a=sqrt(5)) shrinks
    activations through LeNet's three linear layers: its loss sat at 2.3 for the first ~10 steps,
    which also flattens the LR finder's curve; with He init it falls from the first step."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


def build_model(name: str, in_channels: int, num_classes: int, width: float = 1.0) -> nn.Module:
    """Build a registered model; unknown names and bad sizes raise a one-line ValueError."""
    record = model_record(name)
    if in_channels not in record.in_channels:
        valid = " or ".join(str(c) for c in record.in_channels)
        raise ValueError(f"in_channels={in_channels!r} is invalid; expected {valid}")
    if num_classes < 2:
        raise ValueError(f"num_classes={num_classes!r} is invalid; expected >= 2")
    if not (0.0 < width <= 8.0):
        raise ValueError(f"width={width!r} is invalid; expected 0 < width <= 8")
    model = record.factory(in_channels, num_classes, width)
    # Zero-initialised BatchNorm scales (the last BN of each residual branch, Goyal et al. 2017)
    # are set by the builders; init_weights touches only conv and linear weights.
    return init_weights(model) if record.init else model
