"""The LR each step trains at: the schedule's max LR (given, or read off an LR range test cached
on disk so a search's trials share it), each stage's own max LR (fixed when the stage begins,
from its own range test when it asks for one), and the LR policy applied to the optimizer's
groups, each scaled by its group's multiplier."""

from __future__ import annotations

import os
from typing import Callable

import torch

from tune_growth.models.pretrained import fingerprint
from tune_growth.schedule.core import Schedule
from tune_growth.train.config import RunConfig
from tune_growth.train.counters import Counters
from tune_growth.train.lr_finder import cached_range_test, suggest

# An LR range test: (image size px, augment, seed) -> (lrs, smoothed losses); model and optimizer
# come back unchanged.
Probe = Callable[[int, bool, int], tuple[list[float], list[float]]]

# StageLR.state_dict()'s keys, which a checkpoint keeps at its top level (checkpoint.py)
LR_STATE_KEYS = ("max_lr", "stage_lr", "lr_now")


class StageLR:
    def __init__(self, schedule: Schedule, config: RunConfig, precision: str, data_fingerprint: str) -> None:
        self.schedule, self.config, self.precision = schedule, config, precision
        self.data_fingerprint = data_fingerprint
        self.max_lr: float | None = None if schedule.max_lr == "find" else float(schedule.max_lr) * schedule.lr_mult
        self.lr_finder: dict | None = None  # the range test's result when max_lr was "find"
        self.stage_lr: dict[int, float] = {}  # each stage's max LR (the head's), fixed when it begins
        self.stage_finders: dict[int, dict] = {}  # range tests run when a stage with max_lr "find" began
        self.now = 0.0  # the head's LR at the last step

    def range_test_key(self) -> dict:
        """Everything the schedule's range-test curve depends on: the data's content fingerprint,
        the model, batch, final image size, seed, precision, optimizer and regularization."""
        s, c = self.schedule, self.config
        first = s.stages[0]
        key = {"data": self.data_fingerprint, "model": c.model, "width": c.width,
               "batch_size": s.batch_size, "image_size": s.stages[-1].image_size, "seed": c.seed,
               "precision": self.precision, "optimizer": s.optimizer, "weight_decay": s.weight_decay,
               "augment": s.augment.to_dict(), "label_smoothing": s.label_smoothing}
        if c.pretrained is not None or first.freeze_to or first.lr_ratio != 1.0:  # keys of older caches stay valid
            key.update(pretrained=fingerprint(c.pretrained), freeze_to=first.freeze_to, lr_ratio=first.lr_ratio)
        return key

    def find_max_lr(self, probe: Probe) -> None:
        """Fix the schedule's max LR from its range test (all training data, the final stage's size,
        the first stage's groups already applied), read from the disk cache when it is there."""
        s, c = self.schedule, self.config

        def compute() -> tuple[list[float], list[float]]:
            return probe(s.stages[-1].image_size, True, c.seed + 1)

        self.lr_finder = cached_range_test(self.range_test_key(), compute, os.path.join(c.cache_dir, "lr_finder"))
        self.max_lr = self.lr_finder["suggestions"][c.lr_rule] * s.lr_mult

    def begin(self, k: int, probe: Probe) -> None:
        """Fix stage k's max LR the first time it begins: its own range test on the model as it is
        now (e.g. fastai's lr_find after unfreeze), or the stage's or the schedule's max LR."""
        if k in self.stage_lr:
            return
        stage = self.schedule.stages[k]
        if stage.max_lr == "find":
            lrs, losses = probe(stage.image_size, stage.augment, self.config.seed + 1 + k)
            if len(lrs) < 10:
                raise RuntimeError(f"stage {k}'s LR range test diverged after {len(lrs)} steps; expected >= 10")
            self.stage_finders[k] = {"stage": k, "lrs": lrs, "losses": losses, "suggestions": suggest(lrs, losses)}
            base = self.stage_finders[k]["suggestions"][self.config.stage_lr_rule]
        else:
            base = self.max_lr if stage.max_lr is None else float(stage.max_lr)
        self.stage_lr[k] = base * stage.lr_mult

    def apply(self, k: int, counters: Counters, stage_steps: list[int], optimizer: torch.optim.Optimizer) -> None:
        """Each group's LR for the next step of stage k: the stage's max LR x the policy's factor x
        the group's multiplier. A stage with its own policy runs it over its own steps; otherwise
        the schedule's policy runs over all `stage_steps`."""
        policy = self.schedule.stages[k].lr_policy
        if policy is None:
            factor, momentum = self.schedule.lr_policy(counters.step / sum(stage_steps))
        else:
            factor, momentum = policy(counters.stage_step / stage_steps[k])
        self.now = self.stage_lr[k] * factor
        for group in optimizer.param_groups:
            group["lr"] = self.now * group["mult"]
            if "betas" in group:
                group["betas"] = (momentum, group["betas"][1])
            else:
                group["momentum"] = momentum

    def state_dict(self) -> dict:
        """The LRs fixed so far and the last one applied, under LR_STATE_KEYS (stage keys as strings)."""
        return {"max_lr": self.max_lr, "stage_lr": {str(k): v for k, v in self.stage_lr.items()}, "lr_now": self.now}

    def load_state_dict(self, state: dict) -> None:
        """From a checkpoint (older ones lack the per-stage LRs and the last LR)."""
        self.max_lr = state["max_lr"]
        self.stage_lr = {int(k): float(v) for k, v in state.get("stage_lr", {}).items()}
        self.now = float(state.get("lr_now", 0.0))
