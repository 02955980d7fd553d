"""The staged trainer every trial runs: stages in order, each drawing batches from its own index
subset at its own image size, one LR policy over the whole schedule's planned steps.

It yields one record per evaluation and imports nothing from Ray. Its full state (model,
optimizer, counters, data generator, index stream) saves and loads, and a resumed run continues
exactly like an uninterrupted one on the CPU. A NaN or infinite loss ends the run with status
"diverged" and finite sentinel metrics, never an exception.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from tune_growth.augment import Augmenter, Batch, IndexStream
from tune_growth.data import ImageDataset
from tune_growth.device import autocast, pick_device, resolve_precision, use_channels_last
from tune_growth.lr_finder import SUGGESTIONS, cached_range_test, range_test
from tune_growth.models import build_model
from tune_growth.schedule import Schedule
from tune_growth.selection import rank_examples, stage_indices

DIVERGED_LOSS = 1e6  # finite sentinel loss reported for a diverged run (accuracy is reported as 0)
DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "tune_growth")


@dataclass(frozen=True)
class RunConfig:
    """How to run a schedule (not what the schedule is). `evals`: evaluations spread evenly over
    the budget in examples, plus one at every stage end. `lr_rule`: the LR finder's suggestion used
    when the schedule's max_lr is "find"."""

    model: str = "lenet5"
    width: float = 1.0
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0
    evals: int = 20
    eval_batch: int = 1000
    lr_rule: str = "steep"
    cache_dir: str = DEFAULT_CACHE

    def __post_init__(self) -> None:
        if self.evals < 1:
            raise ValueError(f"evals={self.evals!r} is invalid; expected an integer >= 1")
        if self.lr_rule not in SUGGESTIONS:
            raise ValueError(f"lr_rule={self.lr_rule!r} is invalid; expected one of {', '.join(SUGGESTIONS)}")


class Trainer:
    """Runs one Schedule on one ImageDataset. Call `run()` for records; `state_dict()` between
    records to checkpoint; `load_state_dict()` on a fresh Trainer to resume."""

    def __init__(self, schedule: Schedule, data: ImageDataset, config: RunConfig = RunConfig()) -> None:
        self.schedule, self.config = schedule, config
        self.device = pick_device(config.device)
        self.data = data.to(self.device)
        schedule.check_dataset(self.data.examples_per_class().tolist(), self.data.image_size)
        self.precision = resolve_precision(config.precision, self.device, config.model)
        channels_last = use_channels_last(self.device, config.model)
        torch.manual_seed(config.seed)
        np.random.seed(config.seed)
        model = build_model(config.model, self.data.channels, self.data.num_classes, config.width)
        self.model = model.to(self.device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
        self.optimizer = self._make_optimizer()
        self.augmenter = Augmenter(schedule.augment, self.data.mean, self.data.std, self.device, channels_last)
        self.generator = torch.Generator(self.device).manual_seed(config.seed)
        self.rankings = rank_examples(self.data, schedule.selection, schedule.selection_seed)
        n_train = len(self.data.train_y)
        self.stage_steps = [max(1, math.ceil(e / schedule.batch_size)) for e in schedule.stage_examples(n_train)]
        self.total_steps = sum(self.stage_steps)
        self.eval_every = schedule.budget_epochs * n_train / config.evals  # examples between evaluations
        self.stream: IndexStream | None = None
        self.lr_finder: dict | None = None  # the range test's result when max_lr was "find"
        self.stage_classes: torch.Tensor | None = None  # the stage's class ids when a subset, else None
        self.remap: torch.Tensor | None = None  # class id -> position among stage_classes
        self.max_lr: float | None = None if schedule.max_lr == "find" else float(schedule.max_lr) * schedule.lr_mult
        self.counters = {"stage": 0, "stage_step": 0, "step": 0, "examples": 0, "compute": 0, "next_eval": 1,
                         "loss_sum": 0.0, "loss_count": 0, "wall": 0.0, "status": "running"}

    # --- set-up ---------------------------------------------------------------------------
    def _make_optimizer(self) -> torch.optim.Optimizer:
        s, params = self.schedule, self.model.parameters()
        if s.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.99), weight_decay=s.weight_decay)
        return torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=s.weight_decay)

    def stage_indices(self, k: int) -> torch.Tensor:
        """Training indices of stage k: the first per_class of each of its classes' rankings."""
        stage = self.schedule.stages[k]
        return stage_indices(stage.classes, stage.per_class, self.rankings).to(self.device)

    def _enter_stage(self, k: int) -> None:
        """Set up stage k: its index stream, and its classes for the loss."""
        self.stream = IndexStream(self.stage_indices(k), self.generator)
        classes = self.schedule.stages[k].classes
        if len(classes) == self.data.num_classes:
            self.stage_classes = self.remap = None
        else:
            self.stage_classes = torch.tensor(classes, device=self.device)
            self.remap = torch.full((self.data.num_classes,), -1, dtype=torch.long, device=self.device)
            self.remap[self.stage_classes] = torch.arange(len(classes), device=self.device)

    def _loss(self, batch: Batch, subset: bool = True) -> torch.Tensor:
        """Cross-entropy over the stage's classes only: a stage on 2 classes is a 2-way problem.
        Over all logits, the unseen classes' logits are driven far down, and when those classes
        arrive the loss spike collapsed the network (measured: lenet5 on mnist5k, 2 classes for
        35% of the budget, then chance accuracy to the end). `subset=False` (the LR finder) uses
        all classes."""
        smoothing = self.schedule.label_smoothing
        with autocast(self.device, self.precision):
            logits = self.model(batch.x)
        logits, y, y_mix = logits.float(), batch.y, batch.y_mix
        if subset and self.stage_classes is not None:
            logits, y = logits[:, self.stage_classes], self.remap[y]
            y_mix = None if y_mix is None else self.remap[y_mix]
        loss = F.cross_entropy(logits, y, label_smoothing=smoothing)
        if y_mix is not None:
            loss = batch.lam * loss + (1 - batch.lam) * F.cross_entropy(logits, y_mix, label_smoothing=smoothing)
        return loss

    def find_max_lr(self) -> dict:
        """The LR range test on all training data at the final stage's size, cached on disk."""
        s, c = self.schedule, self.config
        size = s.stages[-1].image_size
        key = {"dataset": self.data.name, "train_size": len(self.data.train_y), "model": c.model, "width": c.width,
               "batch_size": s.batch_size, "image_size": size, "seed": c.seed, "precision": self.precision,
               "optimizer": s.optimizer, "weight_decay": s.weight_decay, "augment": s.augment.to_dict(),
               "label_smoothing": s.label_smoothing}
        gen = torch.Generator(self.device).manual_seed(c.seed + 1)  # its own randomness: the run is unaffected
        stream = IndexStream(torch.arange(len(self.data.train_y), device=self.device), gen)

        def next_loss() -> torch.Tensor:
            return self._loss(self.augmenter.batch(self.data.train_x, self.data.train_y,
                                                   stream.next(s.batch_size), size, gen), subset=False)

        return cached_range_test(key, lambda: range_test(self.model, self.optimizer, next_loss),
                                 os.path.join(c.cache_dir, "lr_finder"))

    # --- the loop ---------------------------------------------------------------------------
    def run(self) -> Iterator[dict]:
        """Train to the end of the schedule, yielding a record at each evaluation."""
        ctr, s = self.counters, self.schedule
        if self.max_lr is None:
            self.lr_finder = self.find_max_lr()
            self.max_lr = self.lr_finder["suggestions"][self.config.lr_rule] * s.lr_mult
        start = time.perf_counter() - ctr["wall"]
        while ctr["stage"] < len(s.stages) and ctr["status"] == "running":
            k = ctr["stage"]
            stage = s.stages[k]
            if self.stream is None:
                self._enter_stage(k)
            self._set_lr(ctr["step"] / self.total_steps)
            loss = self._loss(self.augmenter.batch(self.data.train_x, self.data.train_y,
                                                   self.stream.next(s.batch_size), stage.image_size, self.generator))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            value = float(loss.detach())  # one host sync per step; cheap beside a step, and needed to stop on NaN
            ctr["step"] += 1
            ctr["stage_step"] += 1
            ctr["examples"] += s.batch_size
            ctr["compute"] += s.batch_size * stage.image_size ** 2
            ctr["loss_sum"] += value
            ctr["loss_count"] += 1
            stage_done = ctr["stage_step"] >= self.stage_steps[k]
            if stage_done:  # advance before yielding, so a checkpoint taken now never straddles stages
                ctr["stage"], ctr["stage_step"], self.stream = k + 1, 0, None
            if not math.isfinite(value):
                ctr["status"] = "diverged"
            elif ctr["stage"] == len(s.stages):
                ctr["status"] = "completed"
            due = ctr["examples"] >= ctr["next_eval"] * self.eval_every
            if due or stage_done or ctr["status"] != "running":
                while ctr["examples"] >= ctr["next_eval"] * self.eval_every:
                    ctr["next_eval"] += 1
                ctr["wall"] = time.perf_counter() - start
                yield self._record(k, stage_done)

    def full_problem_share(self, examples: int) -> float:
        """Fraction of the budget spent so far in the final stage (the full problem)."""
        early = sum(self.stage_steps[:-1]) * self.schedule.batch_size
        return max(0, examples - early) / (self.total_steps * self.schedule.batch_size)

    def _set_lr(self, t: float) -> None:
        factor, momentum = self.schedule.lr_policy(t)
        for group in self.optimizer.param_groups:
            group["lr"] = self.max_lr * factor
            if "betas" in group:
                group["betas"] = (momentum, group["betas"][1])
            else:
                group["momentum"] = momentum

    # --- evaluation and records ---------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, size: int, classes: tuple[int, ...]) -> dict:
        """Test loss and accuracy on all classes, and on `classes` alone (logits restricted to them)."""
        self.model.eval()
        data, tta = self.data, self.schedule.tta
        logits = []
        for x in data.test_x.split(self.config.eval_batch):
            xb = self.augmenter.normalize(x, size)
            with autocast(self.device, self.precision):
                out = self.model(xb).float()
                if tta:  # flip test-time augmentation: average the logits of x and its mirror
                    out = (out + self.model(xb.flip(-1)).float()) / 2
            logits.append(out)
        self.model.train()
        logits, y = torch.cat(logits), data.test_y
        seen = torch.tensor(classes, device=self.device)
        mask = torch.isin(y, seen)
        remap = torch.full((data.num_classes,), -1, device=self.device, dtype=torch.long)
        remap[seen] = torch.arange(len(seen), device=self.device)
        sub = logits[mask][:, seen]
        return {"test_loss": float(F.cross_entropy(logits, y)), "test_acc": float((logits.argmax(1) == y).float().mean()),
                "test_loss_seen": float(F.cross_entropy(sub, remap[y[mask]])),
                "test_acc_seen": float((sub.argmax(1) == remap[y[mask]]).float().mean())}

    def _record(self, k: int, stage_end: bool) -> dict:
        ctr, stage = self.counters, self.schedule.stages[k]
        n_train = len(self.data.train_y)
        if ctr["status"] == "diverged":
            metrics = {"test_loss": DIVERGED_LOSS, "test_acc": 0.0, "test_loss_seen": DIVERGED_LOSS, "test_acc_seen": 0.0}
            train_loss = DIVERGED_LOSS
        else:
            metrics = self.evaluate(stage.image_size, stage.classes)
            train_loss = ctr["loss_sum"] / max(1, ctr["loss_count"])
        ctr["loss_sum"], ctr["loss_count"] = 0.0, 0
        lr_factor, _ = self.schedule.lr_policy((ctr["step"] - 1) / self.total_steps)
        return {"step": ctr["step"], "examples": ctr["examples"], "epoch": ctr["examples"] / n_train, "stage": k,
                "image_size": stage.image_size, "classes_seen": len(stage.classes),
                "per_class": -1 if stage.per_class is None else stage.per_class,
                "lr": self.max_lr * lr_factor, "train_loss": train_loss, **metrics,
                "wall_seconds": ctr["wall"], "compute": ctr["compute"], "status": ctr["status"],
                "stage_end": stage_end, "finished": ctr["status"] != "running"}

    # --- checkpointing ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state(), "counters": dict(self.counters), "max_lr": self.max_lr,
                "stream": None if self.stream is None else self.stream.state_dict(),
                "schedule": self.schedule.to_json(), "config": asdict(self.config)}

    def load_state_dict(self, state: dict) -> None:
        if state["schedule"] != self.schedule.to_json():
            raise ValueError("checkpoint was written for a different schedule; expected the same schedule JSON")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.counters, self.max_lr = dict(state["counters"]), state["max_lr"]
        self.stream = None
        if state["stream"] is not None:
            self._enter_stage(self.counters["stage"])
            self.stream.load_state_dict(state["stream"])
