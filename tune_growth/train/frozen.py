"""The frozen prefix: which leading layer groups each stage freezes, each group's LR multiplier,
and the activation caches of the frozen part. A stage with something frozen and nothing
augmenting trains on the prefix's stored output (precompute.py) and runs only the rest."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from tune_growth.data import ImageDataset
from tune_growth.data.augment import Augmenter, Batch
from tune_growth.models import groups
from tune_growth.schedule.core import Schedule, ScheduleError
from tune_growth.train.config import RunConfig
from tune_growth.train.device import autocast
from tune_growth.train.precompute import ActivationCache


class FrozenPrefix:
    def __init__(self, model: nn.Module, schedule: Schedule, data: ImageDataset, augmenter: Augmenter,
                 config: RunConfig, precision: str, eval_batch: int, train_model: nn.Module | None = None) -> None:
        self.model, self.schedule, self.data, self.augmenter = model, schedule, data, augmenter
        self.config, self.precision, self.eval_batch = config, precision, eval_batch
        self.train_model = model if train_model is None else train_model  # compiled, or the model itself
        self.groups = groups.group_names(model)
        self.counts = [self._count(k) for k in range(len(schedule.stages))]  # leading groups frozen per stage
        self.cache: ActivationCache | None = None  # the train set's cached activations, in a cached stage
        self.eval_cache: dict[bool, ActivationCache] = {}  # the monitored split's (per flip), in a cached stage
        self.key: tuple[int, int] | None = None  # (image size px, groups frozen) the caches are for
        self.rest: nn.Module | None = None  # the layers after the cached prefix

    def _count(self, k: int) -> int:
        freeze_to, n = self.schedule.stages[k].freeze_to, len(self.groups)
        try:
            return groups.frozen_count(freeze_to, n)
        except ValueError:
            raise ScheduleError(f"stage {k} freeze_to={freeze_to} is invalid for {self.config.model} (layer groups "
                                f"{', '.join(self.groups)}); expected {-(n - 1)}..{n - 1} (the head always trains)"
                                ) from None

    def apply(self, k: int, optimizer: torch.optim.Optimizer) -> None:
        """Freeze stage k's leading groups (BatchNorm statistics too) and set each group's multiplier
        (the optimizer has one parameter group per layer group, named after it)."""
        groups.freeze(self.model, self.counts[k])
        groups.train_mode(self.model, self.counts[k])
        mults = dict(zip(self.groups, groups.multipliers(self.schedule.stages[k].lr_ratio, len(self.groups))))
        for group in optimizer.param_groups:
            group["mult"] = mults[group["name"]]

    def train_mode(self, k: int) -> None:
        """Training mode for stage k (k past the end: the last stage), frozen groups in eval mode."""
        groups.train_mode(self.model, self.counts[min(k, len(self.counts) - 1)])

    def cached(self, k: int) -> bool:
        """Stage k trains on precomputed activations: something is frozen, nothing augments."""
        stage, aug = self.schedule.stages[k], self.schedule.augment
        augments = stage.augment and (aug.crop_pad or aug.flip or aug.cutout or aug.mixup_alpha > 0)
        return self.config.precompute and self.counts[k] > 0 and not augments

    def update(self, k: int) -> None:
        """Build (or keep, or drop) the activation caches for stage k."""
        key = (self.schedule.stages[k].image_size, self.counts[k]) if self.cached(k) else None
        if key == self.key:
            return
        self.cache, self.eval_cache, self.key, self.rest = None, {}, key, None
        if key is None:
            return
        prefix, self.rest = groups.split_frozen(self.model, self.counts[k])
        self.cache = self._activations(prefix, self.data.train_x, key[0], flip=False)
        monitored = self.data.split(self.config.monitor)[0]
        for flip in (False, True) if self.schedule.tta else (False,):
            self.eval_cache[flip] = self._activations(prefix, monitored, key[0], flip)

    def _activations(self, prefix: nn.Module, images: torch.Tensor, size: int, flip: bool) -> ActivationCache:
        device = images.device
        return ActivationCache(prefix, images, lambda x: self.augmenter.normalize(x, size),
                               lambda: autocast(device, self.precision), self.eval_batch,
                               self.config.activation_mb, os.path.join(self.config.cache_dir, "activations"), flip)

    def needs_host_indices(self) -> bool:
        """Whether batches gather from host memory (a memory-mapped cache on a CUDA run), so the
        index stream should keep host copies of its permutations."""
        return self.cache is not None and self.cache.on_disk and self.cache.device.type != "cpu"

    def batch(self, idx: torch.Tensor, host_idx: torch.Tensor | None = None) -> Batch | None:
        """The cached features and labels of training examples `idx` (`host_idx`: the same indices
        on the host, for a memory-mapped cache); None outside a cached stage."""
        return None if self.cache is None else Batch(self.cache.gather(idx, host_idx), self.data.train_y[idx])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of images (the compiled training model, when there is one), or of cached
        features (the layers after the cached prefix)."""
        return self.train_model(x) if self.cache is None else self.rest(x)

    def serves(self, split: str, size: int) -> bool:
        """Whether the evaluation of `split` at `size` px can start from the cached features."""
        return bool(self.eval_cache) and split == self.config.monitor and size == self.key[0]

    @contextmanager
    def bypassed(self) -> Iterator[None]:
        """Full forward passes inside (a range test runs over all layers), the caches kept for after."""
        cache, self.cache = self.cache, None
        try:
            yield
        finally:
            self.cache = cache
