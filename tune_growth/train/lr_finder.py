"""Leslie Smith's LR range test, fastai's suggestion rules as pure functions, and a disk cache so
the trials of one search share one range test.

The test raises the LR exponentially from `start_lr` to `end_lr` over `num_steps` optimizer steps,
records the exponentially smoothed loss (bias-corrected, beta 0.98) and stops early once the
smoothed loss exceeds `diverge` times its best. The model and optimizer are restored afterwards
(state copied in memory). Suggestions read the curve with the first 10% and last 5 points trimmed
(warm-up noise and the divergence spike), as fastai does.
"""

from __future__ import annotations

import math
import os
from copy import deepcopy
from typing import Callable, Sequence

import numpy as np
import torch

from tune_growth.cache import cached_json

SUGGESTIONS = ("valley", "steep", "minimum")


def valley(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """fastai's valley: the longest stretch over which the loss keeps falling; the LR 1/3 of the
    way plus 1/6 into it (well below the minimum, where the loss still falls fast)."""
    n = len(losses)
    lds, max_start, max_end = [1] * n, 0, 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end, max_start = i, i - lds[i]
    sections = (max_end - max_start) / 3
    return float(lrs[max_start + int(sections) + int(sections / 2)])


def steep(lrs: Sequence[float], losses: Sequence[float], plateau: float = 0.2) -> float:
    """The LR where the loss falls fastest per unit of log LR, within the main descent: from the
    last point before the minimum still within `plateau` of the total fall below the start, to the
    minimum. Without that window, noise on the flat start won: on xresnet18 (CIFAR-10 subset,
    seed 2) a wiggle at 5e-7 out-sloped the real descent (1e-3..0.1) and the run trained at 1e-6
    (25% accuracy). On the 50 lenet5/resnet9/xresnet18 curves cached before, the window changes
    no suggestion."""
    y, lr = np.asarray(losses, dtype=float), np.asarray(lrs, dtype=float)
    grads = np.diff(y) / np.diff(np.log(lr))
    low, start = int(np.argmin(y)), 0
    fall = y[0] - y[low]
    if fall > 0:
        above = np.flatnonzero(y[:low] >= y[0] - plateau * fall)
        start = int(above[-1]) if len(above) else 0
    end = max(low, start + 1)
    return float(lr[start + int(np.argmin(grads[start:end]))])


def minimum(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """One tenth of the LR at the lowest loss."""
    return float(lrs[int(np.argmin(losses))]) / 10.0


RULES: dict[str, Callable[[Sequence[float], Sequence[float]], float]] = {
    "valley": valley, "steep": steep, "minimum": minimum}


def suggest(lrs: Sequence[float], losses: Sequence[float]) -> dict[str, float]:
    """Every rule's suggestion on the trimmed curve (see the module doc)."""
    start, stop = len(lrs) // 10, max(len(lrs) // 10 + 3, len(lrs) - 5)
    lrs_t, losses_t = list(lrs[start:stop]), list(losses[start:stop])
    return {name: rule(lrs_t, losses_t) for name, rule in RULES.items()}


def range_test(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss_of_next_batch: Callable[[], torch.Tensor],
               start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100, beta: float = 0.98,
               diverge: float = 4.0, train_mode: Callable[[], None] | None = None) -> tuple[list[float], list[float]]:
    """Run the range test; return (lrs, smoothed losses). Model and optimizer come back unchanged.
    The swept LR is the one with multiplier 1: a parameter group carrying "mult" (differential LRs,
    groups.py) gets lr x mult. `train_mode` puts the model in training mode (default model.train();
    a fine-tuning trainer keeps its frozen groups in eval mode)."""
    saved_model, saved_opt = deepcopy(model.state_dict()), deepcopy(optimizer.state_dict())
    ratio = (end_lr / start_lr) ** (1.0 / max(1, num_steps - 1))
    lrs, losses, avg, best = [], [], 0.0, math.inf
    try:
        (train_mode or model.train)()
        for i in range(num_steps):
            lr = start_lr * ratio ** i
            for group in optimizer.param_groups:
                group["lr"] = lr * group.get("mult", 1.0)
            loss = loss_of_next_batch()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            value = float(loss.detach())
            if not math.isfinite(value):
                break
            avg = beta * avg + (1 - beta) * value
            smooth = avg / (1 - beta ** (i + 1))
            lrs.append(lr)
            losses.append(smooth)
            best = min(best, smooth)
            if smooth > diverge * best:
                break
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_opt)
    return lrs, losses


def cached_range_test(key: dict, run: Callable[[], tuple[list[float], list[float]]],
                      cache_dir: str | os.PathLike) -> dict:
    """The range test's result for `key` (the dataset's content fingerprint, model, batch size,
    image size, seed, ...): read from `cache_dir` (cache.py: lr_find_<hash>.json) if present, else
    computed by `run()` and written there; concurrent trials wait for the first."""
    def compute() -> dict:
        lrs, losses = run()
        if len(lrs) < 10:
            raise RuntimeError(f"LR range test for {key} diverged after {len(lrs)} steps; expected >= 10 "
                               "(lower start_lr or check the data)")
        return {"key": key, "lrs": lrs, "losses": losses, "suggestions": suggest(lrs, losses)}

    return cached_json(cache_dir, "lr_find", key, compute)
