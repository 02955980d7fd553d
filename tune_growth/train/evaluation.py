"""Evaluation: logits of a split (from images, or from a frozen prefix's cached features), and
the metrics a record carries for it, on all classes and on the stage's classes alone."""

from __future__ import annotations

from typing import Callable, ContextManager

import torch
import torch.nn.functional as F
from torch import nn

from tune_growth.train.config import DIVERGED_LOSS

Normalize = Callable[[torch.Tensor], torch.Tensor]


@torch.no_grad()
def image_logits(model: nn.Module, images: torch.Tensor, normalize: Normalize, autocast: Callable[[], ContextManager],
                 batch: int, tta: bool) -> torch.Tensor:
    """float32 logits of `images` in chunks of `batch`; with `tta` the mean of each image's logits
    and its mirror's (flip test-time augmentation)."""
    logits = []
    for x in images.split(batch):
        xb = normalize(x)
        with autocast():
            out = model(xb).float()
            if tta:
                out = (out + model(xb.flip(-1)).float()) / 2
        logits.append(out)
    return torch.cat(logits)


@torch.no_grad()
def feature_logits(rest: nn.Module, features: list[torch.Tensor], autocast: Callable[[], ContextManager],
                   batch: int) -> torch.Tensor:
    """float32 logits from cached prefix outputs: one tensor per flip (the mirror's second, with
    TTA), the logits averaged over them."""
    logits = []
    for parts in zip(*(f.split(batch) for f in features)):
        with autocast():
            outs = [rest(part).float() for part in parts]
        logits.append(sum(outs) / len(outs))
    return torch.cat(logits)


def split_metrics(split: str, logits: torch.Tensor, y: torch.Tensor, classes: tuple[int, ...],
                  num_classes: int) -> dict[str, float]:
    """{"<split>_loss", "<split>_acc"} over all classes, and "<split>_loss_seen", "<split>_acc_seen"
    over the examples of `classes` with the logits restricted to them (the stage's own problem)."""
    seen = torch.tensor(classes, device=logits.device)
    mask = torch.isin(y, seen)
    remap = torch.full((num_classes,), -1, device=logits.device, dtype=torch.long)
    remap[seen] = torch.arange(len(seen), device=logits.device)
    sub = logits[mask][:, seen]
    return {f"{split}_loss": float(F.cross_entropy(logits, y)),
            f"{split}_acc": float((logits.argmax(1) == y).float().mean()),
            f"{split}_loss_seen": float(F.cross_entropy(sub, remap[y[mask]])),
            f"{split}_acc_seen": float((sub.argmax(1) == remap[y[mask]]).float().mean())}


def diverged_metrics(split: str) -> dict[str, float]:
    """A diverged run's metrics: finite sentinels, so searches and tables never meet NaN."""
    return {f"{split}_loss": DIVERGED_LOSS, f"{split}_acc": 0.0,
            f"{split}_loss_seen": DIVERGED_LOSS, f"{split}_acc_seen": 0.0}
