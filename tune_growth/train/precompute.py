"""Precomputed activations: while a stage trains only the layers after a frozen prefix and no
augmentation is on, the prefix's output is a fixed function of each image, so it is computed once
per image and the stage trains on the stored features (fastai 0.7's `precompute=True`).

The features live on the training device when they fit in `memory_mb`, else in a file-backed
tensor under `folder` (torch.from_file, memory-mapped; the file is unlinked as soon as it is
mapped, so nothing is left on disk, even after a crash).
"""

from __future__ import annotations

import os
import tempfile
from typing import Callable

import torch
from torch import nn


class ActivationCache:
    """prefix(normalize(x)) for every image of `images`, at one image size, in chunks of `batch`."""

    def __init__(self, prefix: nn.Module, images: torch.Tensor, normalize: Callable[[torch.Tensor], torch.Tensor],
                 autocast: Callable[[], object], batch: int = 512, memory_mb: float = 2048.0,
                 folder: str | os.PathLike | None = None, flip: bool = False) -> None:
        self.device = images.device
        self.on_disk = False
        store = None
        with torch.no_grad():
            for start in range(0, len(images), batch):
                x = normalize(images[start:start + batch])
                with autocast():
                    out = prefix(x.flip(-1) if flip else x)
                if store is None:
                    store = self._allocate(len(images), out, memory_mb, folder)
                store[start:start + len(out)] = out.to(store.device)
        self.features = store

    def _allocate(self, n: int, first: torch.Tensor, memory_mb: float, folder) -> torch.Tensor:
        shape = (n, *first.shape[1:])
        size = n * first[0].numel()
        if size * first.element_size() <= memory_mb * 2**20:
            return torch.empty(shape, dtype=first.dtype, device=self.device)
        self.on_disk = True
        folder = folder or tempfile.gettempdir()
        os.makedirs(folder, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix="activations_", suffix=".bin", dir=folder)
        os.close(fd)
        try:
            return torch.from_file(path, shared=True, size=size, dtype=first.dtype).view(shape)
        finally:
            os.unlink(path)  # the mapping stays valid; the file vanishes with the process

    def gather(self, idx: torch.Tensor | None = None, host_idx: torch.Tensor | None = None) -> torch.Tensor:
        """Features of examples `idx` (all when None) on the training device. From the file,
        `host_idx` (the same indices on the host) saves copying `idx` back from the device."""
        if idx is None:
            return self.features.to(self.device)
        if self.on_disk:
            return self.features[idx.cpu() if host_idx is None else host_idx].to(self.device, non_blocking=True)
        return self.features[idx]
