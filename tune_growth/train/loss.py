"""The training loss of a stage: cross-entropy over the stage's classes only, so a stage on 2
classes is a 2-way problem. Over all logits the unseen classes' logits are driven far down, and
when those classes arrived the loss spike collapsed the network (measured: lenet5 on mnist5k,
2 classes for 35% of the budget, then chance accuracy to the end)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tune_growth.data.augment import Batch


class StageLoss:
    def __init__(self, num_classes: int, label_smoothing: float, device: torch.device) -> None:
        self.num_classes, self.smoothing, self.device = num_classes, label_smoothing, device
        self.classes: torch.Tensor | None = None  # the stage's class ids when a subset, else None
        self.remap: torch.Tensor | None = None  # class id -> position among `classes`

    def set_classes(self, classes: tuple[int, ...]) -> None:
        """The classes the coming steps train on."""
        if len(classes) == self.num_classes:
            self.classes = self.remap = None
            return
        self.classes = torch.tensor(classes, device=self.device)
        self.remap = torch.full((self.num_classes,), -1, dtype=torch.long, device=self.device)
        self.remap[self.classes] = torch.arange(len(classes), device=self.device)

    def __call__(self, logits: torch.Tensor, batch: Batch, subset: bool = True) -> torch.Tensor:
        """The loss of `logits` on `batch` (mixup mixes two targets); `subset=False` (the LR
        finder) uses all classes."""
        logits, y, y_mix = logits.float(), batch.y, batch.y_mix
        if subset and self.classes is not None:
            logits, y = logits[:, self.classes], self.remap[y]
            y_mix = None if y_mix is None else self.remap[y_mix]
        loss = F.cross_entropy(logits, y, label_smoothing=self.smoothing)
        if y_mix is not None:
            loss = batch.lam * loss + (1 - batch.lam) * F.cross_entropy(logits, y_mix, label_smoothing=self.smoothing)
        return loss
