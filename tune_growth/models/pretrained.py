"""Pretrained bodies from a local file (or, on machines with internet, torchvision's weight enums).

Two file formats load: a torchvision state dict (as torchvision publishes its ImageNet weights,
e.g. resnet18-f37072fd.pth: conv1., bn1., layer1..4., fc.) and a tune_growth model file or trainer
checkpoint (stem., layer1.., head.; `python -m tune_growth.train` writes model.pt). Everything but
the head loads; the head is always new, sized to the dataset's classes. RGB weights for the first
conv are summed over colour for 1-channel data (as fastai does).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from tune_growth.models.registry import MODELS
from tune_growth.models.resnets import TORCHVISION_PREFIXES

IMAGENET = "imagenet"  # --pretrained imagenet: torchvision's DEFAULT weights (downloaded once, then cached)


def _read(source: str, model_name: str) -> dict[str, torch.Tensor]:
    if source == IMAGENET:
        record = MODELS.get(model_name)
        if record is None or record.imagenet_weights is None:
            available = [name for name, r in MODELS.items() if r.imagenet_weights is not None]
            raise ValueError(f"--pretrained imagenet is not available for {model_name!r}; expected one of "
                             f"{', '.join(available)} (or a weights file)")
        import torchvision  # on first use only (see resnets.torchvision_resnet)

        weights = getattr(torchvision.models, record.imagenet_weights).DEFAULT
        try:  # read from torch.hub's cache ($TORCH_HOME/hub/checkpoints) when there; else downloads
            return weights.get_state_dict(progress=True)
        except OSError as err:
            raise ValueError(f"--pretrained imagenet: could not fetch {weights.url} ({err}); expected internet "
                             "access, or a local weights file path instead") from None
    path = Path(source).expanduser()
    if not path.is_file():
        raise ValueError(f"pretrained weights {source!r} is not a file; expected a state-dict file "
                         f"or {IMAGENET!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same user error
        raise ValueError(f"pretrained weights {source!r} could not be read ({type(err).__name__}); expected a "
                         "file written by torch.save of a state dict") from None
    for wrapper in ("model", "state_dict"):  # a trainer checkpoint, or a Lightning-style wrapper
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"pretrained weights {source!r} is not a state dict of tensors; "
                         "expected torch.save(model.state_dict())")
    return state


def _translate(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision key names -> ours; the old head (fc. or head.) dropped."""
    out = {}
    for key, value in state.items():
        if key.startswith(("fc.", "head.")):
            continue
        for theirs, ours in TORCHVISION_PREFIXES.items():
            if key.startswith(theirs):
                key = ours + key[len(theirs):]
        out[key] = value
    return out


def load_pretrained(model: nn.Module, model_name: str, source: str) -> dict:
    """Load every weight but the head's from `source` into `model`; return what was loaded.
    A file for another architecture raises a one-line ValueError naming the first mismatch."""
    state = _translate(_read(source, model_name))
    own = {k: v for k, v in model.state_dict().items() if not k.startswith("head.")}
    first_conv = next(k for k in own if k.endswith("weight") and own[k].dim() == 4)
    theirs = state.get(first_conv)
    if theirs is not None and theirs.dim() == 4 and theirs.shape[1] != own[first_conv].shape[1]:
        if own[first_conv].shape[1] == 1:  # RGB stem -> grey: sum over colour
            state[first_conv] = theirs.sum(dim=1, keepdim=True)
        else:  # grey stem -> RGB: share it between the channels
            state[first_conv] = theirs.repeat(1, own[first_conv].shape[1], 1, 1) / own[first_conv].shape[1]
    for key, value in own.items():
        if key not in state:
            raise ValueError(f"pretrained weights {source!r} lack {key!r} of {model_name}; expected weights "
                             f"for the same architecture (a torchvision {model_name} state dict or a tune_growth model.pt)")
        if state[key].shape != value.shape:
            raise ValueError(f"pretrained weights {source!r} have {key!r} of shape {tuple(state[key].shape)}; "
                             f"expected {tuple(value.shape)} for {model_name} at this width and channel count")
    extra = sorted(set(state) - set(own))
    if extra:
        raise ValueError(f"pretrained weights {source!r} hold {len(extra)} tensors {model_name} lacks (first: "
                         f"{extra[0]!r}); expected weights for the same architecture")
    model.load_state_dict({**model.state_dict(), **{k: state[k] for k in own}})
    return {"source": source, "tensors": len(own)}


def fingerprint(source: str | None) -> str | None:
    """Identity of the weights for caches (the LR finder's): path, size and mtime of the file."""
    if source is None or source == IMAGENET:
        return source
    stat = os.stat(Path(source).expanduser())
    return f"{Path(source).expanduser().resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
