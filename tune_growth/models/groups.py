"""Layer groups: which part of a model a stage trains, and at what LR multiplier.

A model is an nn.Sequential of named groups (models.py), the last one the head. A stage freezes
the first `n` groups (`freeze_to`, Python-style: -1 = everything but the head, as fastai's
freeze()) and spreads LR multipliers geometrically over all groups from `lr_ratio` (the first
group) to 1 (the head), as fastai's `slice(lr * lr_ratio, lr)` does. Frozen groups stop
updating their BatchNorm statistics too (they run in eval mode), so a frozen body is a fixed
function of its input: that is what makes its activations cacheable (precompute.py).
"""

from __future__ import annotations

import torch
from torch import nn


def group_names(model: nn.Module) -> list[str]:
    """The model's layer groups in forward order (its named children)."""
    return [name for name, _ in model.named_children()]


def frozen_count(freeze_to: int, n_groups: int, model: str = "the model") -> int:
    """How many leading groups `freeze_to` freezes: k >= 0 freezes groups 0..k-1; -k freezes all
    but the last k. Raises ValueError naming the valid range when nothing would train."""
    if not -(n_groups - 1) <= freeze_to <= n_groups - 1:
        raise ValueError(f"freeze_to={freeze_to!r} is invalid for {model} of {n_groups} layer group(s); "
                         f"expected {-(n_groups - 1)}..{n_groups - 1} (the head always trains)")
    return freeze_to if freeze_to >= 0 else n_groups + freeze_to


def multipliers(lr_ratio: float, n_groups: int) -> list[float]:
    """LR multiplier per group: geometric from `lr_ratio` (group 0) to 1.0 (the head)."""
    if n_groups == 1:
        return [1.0]
    return [lr_ratio ** (1.0 - i / (n_groups - 1)) for i in range(n_groups)]


def param_groups(model: nn.Module) -> list[dict]:
    """One optimizer parameter group per layer group (named, multiplier 1 until a stage sets it).
    Frozen groups stay in the optimizer: their parameters get no gradient, so SGD and AdamW skip
    them (no update, no weight decay, no momentum)."""
    return [{"params": list(group.parameters()), "name": name, "mult": 1.0}
            for name, group in model.named_children() if any(True for _ in group.parameters())]


def freeze(model: nn.Module, n_frozen: int) -> None:
    """requires_grad off for the first `n_frozen` groups, on for the rest."""
    for i, group in enumerate(model.children()):
        for p in group.parameters():
            p.requires_grad_(i >= n_frozen)


def train_mode(model: nn.Module, n_frozen: int) -> None:
    """Training mode, except the frozen groups, which run in eval mode (BatchNorm statistics frozen)."""
    model.train()
    for group in list(model.children())[:n_frozen]:
        group.eval()


def _is_fixed(module: nn.Module) -> bool:
    """No parameters, no buffers, no randomness: a pure function of its input (pooling, flatten)."""
    has_state = any(True for _ in module.parameters()) or any(True for _ in module.buffers())
    return not has_state and not isinstance(module, nn.modules.dropout._DropoutNd)


def split_frozen(model: nn.Module, n_frozen: int) -> tuple[nn.Sequential, nn.Sequential]:
    """(prefix, rest) with rest(prefix(x)) == model(x): the frozen groups plus the leading
    parameter-free layers of the next group (e.g. the head's pooling), and the remainder. Both share
    the model's modules."""
    groups = list(model.children())
    prefix, rest = list(groups[:n_frozen]), []
    nxt = groups[n_frozen:]
    if nxt and isinstance(nxt[0], nn.Sequential):
        inner = list(nxt[0].children())
        cut = 0
        while cut < len(inner) and _is_fixed(inner[cut]):
            cut += 1
        prefix += inner[:cut]
        rest = inner[cut:] + nxt[1:]
    else:
        rest = nxt
    return nn.Sequential(*prefix), nn.Sequential(*rest)


def lrs(optimizer: torch.optim.Optimizer) -> dict[str, float]:
    """Current LR of each named parameter group."""
    return {g["name"]: g["lr"] for g in optimizer.param_groups}
