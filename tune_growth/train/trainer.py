"""The staged trainer every trial runs: stages in order, each drawing batches from its own index
subset at its own image size, one LR policy over the whole schedule's planned steps.

It yields one record per evaluation and imports nothing from Ray. Each record evaluates the
monitored split (`RunConfig.monitor`: the validation split, which searches select on, or the test
split, which the study reports on); the final record evaluates the test split too, so a search
touches test once per trial, for the record. `wall_seconds` clocks training only (optimizer
steps, batch preparation, stage set-up); evaluation, checkpointing and reporting between records
are clocked apart in `eval_seconds` (on CUDA the clocks synchronize at their edges). Its full state (model,
optimizer, counters, data generator, index stream, RNG for dropout, each stage's max LR) saves
and loads, and a resumed run continues exactly like an uninterrupted one on the CPU. A NaN or
infinite loss ends the run with status "diverged" and finite sentinel metrics, never an exception.

Fine-tuning is the same loop: a stage may freeze leading layer groups (groups.py) and give each
group an LR multiplier, run its own LR policy and its own LR range test; a frozen stage without
augmentation trains on precomputed activations of the frozen part (precompute.py).
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

from tune_growth.models import groups
from tune_growth.data.augment import Augmenter, Batch, IndexStream
from tune_growth.cache import DEFAULT_CACHE_DIR
from tune_growth.data import ImageDataset
from tune_growth.train.device import autocast, pick_device, resolve_precision, use_channels_last
from tune_growth.train.lr_finder import SUGGESTIONS, cached_range_test, range_test, suggest
from tune_growth.models.registry import build_model
from tune_growth.train.precompute import ActivationCache
from tune_growth.models.pretrained import fingerprint, load_pretrained
from tune_growth.train.records import METRIC_NAMES, SPLITS
from tune_growth.schedule.core import Schedule, ScheduleError
from tune_growth.schedule.selection import cached_rankings, stage_indices

DIVERGED_LOSS = 1e6  # finite sentinel loss reported for a diverged run (accuracy is reported as 0)
MONITORS = SPLITS  # the split evaluated at every record: val or test


@dataclass(frozen=True)
class RunConfig:
    """How to run a schedule (not what the schedule is). `evals`: evaluations spread evenly over
    the budget in examples, plus one at every stage end. `lr_rule`: the LR finder's suggestion used
    when the schedule's max_lr is "find"; `stage_lr_rule` the one for a stage's own range test
    ("find" in a stage, e.g. at the unfreeze). That defaults to valley, fastai's default: with the
    head already trained the curve falls little and late, and steep read noise there: at the unfreeze
    of xresnet18 on the CIFAR-10 subset it picked 1e-6 and 9e-6 in 2 of 3 seeds (recipe 61-62%),
    valley 3e-3..6e-3 in all 8 runs (65-69% at 5 epochs). On mnist5k steep's 0.08 beat valley's
    0.002 (94% vs 84%): valley's misses are timid, steep's are ruinous.
    `pretrained`: a weights file (or "imagenet") loaded into everything but the head.
    `precompute`: train frozen, unaugmented stages on cached activations, held on the device up
    to `activation_mb` MiB, beyond that in a memory-mapped file.
    `monitor`: the split evaluated at every record, "val" (what selects: searches) or "test" (what
    reports: the study's time to a test accuracy); the final record evaluates both."""

    model: str = "lenet5"
    width: float = 1.0
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0
    evals: int = 20
    eval_batch: int = 1000
    lr_rule: str = "steep"
    stage_lr_rule: str = "valley"
    cache_dir: str = DEFAULT_CACHE_DIR
    pretrained: str | None = None
    precompute: bool = True
    activation_mb: float = 2048.0
    monitor: str = "val"

    def __post_init__(self) -> None:
        if self.monitor not in MONITORS:
            raise ValueError(f"monitor={self.monitor!r} is invalid; expected one of {', '.join(MONITORS)}")
        if self.evals < 1:
            raise ValueError(f"evals={self.evals!r} is invalid; expected an integer >= 1")
        for name in ("lr_rule", "stage_lr_rule"):
            if getattr(self, name) not in SUGGESTIONS:
                raise ValueError(f"{name}={getattr(self, name)!r} is invalid; expected one of {', '.join(SUGGESTIONS)}")
        if not self.activation_mb >= 0:
            raise ValueError(f"activation_mb={self.activation_mb!r} is invalid; expected >= 0 MiB")


class Trainer:
    """Runs one Schedule on one ImageDataset. Call `run()` for records; `state_dict()` between
    records to checkpoint; `load_state_dict()` on a fresh Trainer to resume."""

    def __init__(self, schedule: Schedule, data: ImageDataset, config: RunConfig = RunConfig()) -> None:
        self.schedule, self.config = schedule, config
        self.device = pick_device(config.device)
        self.data = data.to(self.device)
        schedule.check_dataset(self.data.examples_per_class().tolist(), self.data.image_size)
        if config.monitor == "val" and not len(self.data.val_y):
            raise ValueError(f"monitor='val' needs a validation split, but {self.data.name} has none; expected a "
                             "dataset loaded with val_fraction > 0, or monitor='test'")
        self.precision = resolve_precision(config.precision, self.device, config.model)
        channels_last = use_channels_last(self.device, config.model)
        torch.manual_seed(config.seed)
        np.random.seed(config.seed)
        model = build_model(config.model, self.data.channels, self.data.num_classes, config.width)
        if config.pretrained is not None:
            load_pretrained(model, config.model, config.pretrained)
        self.model = model.to(self.device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
        self.groups = groups.group_names(self.model)
        self.frozen = [self._frozen_count(k) for k in range(len(schedule.stages))]  # leading groups frozen per stage
        self.optimizer = self._make_optimizer()
        self.augmenter = Augmenter(schedule.augment, self.data.mean, self.data.std, self.device, channels_last)
        self.generator = torch.Generator(self.device).manual_seed(config.seed)
        self.rankings = cached_rankings(self.data, schedule.selection, schedule.selection_seed, config.cache_dir)
        n_train = len(self.data.train_y)
        self.stage_steps = [max(1, math.ceil(e / schedule.batch_size)) for e in schedule.stage_examples(n_train)]
        self.total_steps = sum(self.stage_steps)
        self.eval_every = schedule.budget_epochs * n_train / config.evals  # examples between evaluations
        self.stream: IndexStream | None = None
        self.lr_finder: dict | None = None  # the range test's result when max_lr was "find"
        self.stage_classes: torch.Tensor | None = None  # the stage's class ids when a subset, else None
        self.remap: torch.Tensor | None = None  # class id -> position among stage_classes
        self.max_lr: float | None = None if schedule.max_lr == "find" else float(schedule.max_lr) * schedule.lr_mult
        self.stage_lr: dict[int, float] = {}  # each stage's max LR (the head's), fixed when it begins
        self.stage_finders: dict[int, dict] = {}  # range tests run when a stage with max_lr "find" began
        self.lr_now = 0.0  # the head's LR at the last step
        self.cache: ActivationCache | None = None  # the train set's cached activations, in a cached stage
        self.eval_cache: dict[bool, ActivationCache] = {}  # the monitored split's (per flip), in a cached stage
        self.cache_key: tuple[int, int] | None = None  # (image size, groups frozen) the caches are for
        self.rest: torch.nn.Module | None = None  # the layers after the cached prefix
        self.counters = {"stage": 0, "stage_step": 0, "step": 0, "examples": 0, "compute": 0, "next_eval": 1,
                         "loss_sum": 0.0, "loss_count": 0, "wall": 0.0, "eval_seconds": 0.0, "status": "running"}

    # --- set-up ---------------------------------------------------------------------------
    def _frozen_count(self, k: int) -> int:
        freeze_to, n = self.schedule.stages[k].freeze_to, len(self.groups)
        try:
            return groups.frozen_count(freeze_to, n)
        except ValueError:
            raise ScheduleError(f"stage {k} freeze_to={freeze_to} is invalid for {self.config.model} (layer groups "
                                f"{', '.join(self.groups)}); expected {-(n - 1)}..{n - 1} (the head always trains)"
                                ) from None

    def _make_optimizer(self) -> torch.optim.Optimizer:
        """One parameter group per layer group, so a stage can set each group's LR multiplier."""
        s, params = self.schedule, groups.param_groups(self.model)
        if s.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.99), weight_decay=s.weight_decay)
        return torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=s.weight_decay)

    def stage_indices(self, k: int) -> torch.Tensor:
        """Training indices of stage k: the first per_class of each of its classes' rankings."""
        stage = self.schedule.stages[k]
        return stage_indices(stage.classes, stage.per_class, self.rankings).to(self.device)

    def _enter_stage(self, k: int) -> None:
        """Set up stage k: frozen groups and LR multipliers, its max LR (running its range test if
        it asks for one), the activation cache when it qualifies, its index stream, and its classes
        for the loss."""
        stage = self.schedule.stages[k]
        self._apply_groups(k)
        if k not in self.stage_lr:
            if stage.max_lr == "find":
                self.stage_finders[k] = self.find_stage_lr(k)
                base = self.stage_finders[k]["suggestions"][self.config.stage_lr_rule]
            else:
                base = self.max_lr if stage.max_lr is None else float(stage.max_lr)
            self.stage_lr[k] = base * stage.lr_mult
        self._update_cache(k)
        self.stream = IndexStream(self.stage_indices(k), self.generator)
        classes = stage.classes
        if len(classes) == self.data.num_classes:
            self.stage_classes = self.remap = None
        else:
            self.stage_classes = torch.tensor(classes, device=self.device)
            self.remap = torch.full((self.data.num_classes,), -1, dtype=torch.long, device=self.device)
            self.remap[self.stage_classes] = torch.arange(len(classes), device=self.device)

    def _apply_groups(self, k: int) -> None:
        """Freeze stage k's leading groups (BatchNorm statistics too) and set each group's multiplier."""
        stage, n_frozen = self.schedule.stages[k], self.frozen[k]
        groups.freeze(self.model, n_frozen)
        groups.train_mode(self.model, n_frozen)
        mults = dict(zip(self.groups, groups.multipliers(stage.lr_ratio, len(self.groups))))
        for group in self.optimizer.param_groups:
            group["mult"] = mults[group["name"]]

    def _train_mode(self) -> None:
        groups.train_mode(self.model, self.frozen[min(self.counters["stage"], len(self.frozen) - 1)])

    def cached(self, k: int) -> bool:
        """Stage k trains on precomputed activations: something is frozen, nothing augments."""
        stage, aug = self.schedule.stages[k], self.schedule.augment
        augments = stage.augment and (aug.crop_pad or aug.flip or aug.cutout or aug.mixup_alpha > 0)
        return self.config.precompute and self.frozen[k] > 0 and not augments

    def _update_cache(self, k: int) -> None:
        """Build (or keep, or drop) the activation caches for stage k."""
        key = (self.schedule.stages[k].image_size, self.frozen[k]) if self.cached(k) else None
        if key == self.cache_key:
            return
        self.cache, self.eval_cache, self.cache_key, self.rest = None, {}, key, None
        if key is None:
            return
        prefix, self.rest = groups.split_frozen(self.model, self.frozen[k])
        self.cache = self._activations(prefix, self.data.train_x, key[0], flip=False)
        monitored = self.data.split(self.config.monitor)[0]
        for flip in (False, True) if self.schedule.tta else (False,):
            self.eval_cache[flip] = self._activations(prefix, monitored, key[0], flip)

    def _activations(self, prefix: torch.nn.Module, images: torch.Tensor, size: int, flip: bool) -> ActivationCache:
        return ActivationCache(prefix, images, lambda x: self.augmenter.normalize(x, size),
                               lambda: autocast(self.device, self.precision), self.config.eval_batch,
                               self.config.activation_mb, os.path.join(self.config.cache_dir, "activations"), flip)

    def _batch(self, k: int, idx: torch.Tensor, generator: torch.Generator) -> Batch:
        """Stage k's training batch of examples `idx`: cached features, or augmented (when the
        stage augments) and normalized images at the stage's size."""
        if self.cache is not None:
            return Batch(self.cache.gather(idx), self.data.train_y[idx])
        stage = self.schedule.stages[k]
        return self.augmenter.batch(self.data.train_x, self.data.train_y, idx, stage.image_size, generator,
                                    train=stage.augment)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of images, or of cached features (the layers after the cached prefix)."""
        return self.model(x) if self.cache is None else self.rest(x)

    def _loss(self, batch: Batch, subset: bool = True) -> torch.Tensor:
        """Cross-entropy over the stage's classes only: a stage on 2 classes is a 2-way problem.
        Over all logits, the unseen classes' logits are driven far down, and when those classes
        arrive the loss spike collapsed the network (measured: lenet5 on mnist5k, 2 classes for
        35% of the budget, then chance accuracy to the end). `subset=False` (the LR finder) uses
        all classes."""
        smoothing = self.schedule.label_smoothing
        with autocast(self.device, self.precision):
            logits = self._forward(batch.x)
        logits, y, y_mix = logits.float(), batch.y, batch.y_mix
        if subset and self.stage_classes is not None:
            logits, y = logits[:, self.stage_classes], self.remap[y]
            y_mix = None if y_mix is None else self.remap[y_mix]
        loss = F.cross_entropy(logits, y, label_smoothing=smoothing)
        if y_mix is not None:
            loss = batch.lam * loss + (1 - batch.lam) * F.cross_entropy(logits, y_mix, label_smoothing=smoothing)
        return loss

    def find_max_lr(self) -> dict:
        """The schedule's LR range test on all training data at the final stage's size, with the
        first stage's frozen groups and multipliers, cached on disk by the data's content
        fingerprint and everything else the curve depends on (trials of a search share it)."""
        s, c = self.schedule, self.config
        first = s.stages[0]
        key = {"data": self.data.fingerprint, "model": c.model, "width": c.width,
               "batch_size": s.batch_size, "image_size": s.stages[-1].image_size, "seed": c.seed,
               "precision": self.precision, "optimizer": s.optimizer, "weight_decay": s.weight_decay,
               "augment": s.augment.to_dict(), "label_smoothing": s.label_smoothing}
        if c.pretrained is not None or first.freeze_to or first.lr_ratio != 1.0:  # keys of older caches stay valid
            key.update(pretrained=fingerprint(c.pretrained), freeze_to=first.freeze_to, lr_ratio=first.lr_ratio)
        self._apply_groups(0)
        return cached_range_test(key, lambda: self._range_test(s.stages[-1].image_size, True, c.seed + 1),
                                 os.path.join(c.cache_dir, "lr_finder"))

    def find_stage_lr(self, k: int) -> dict:
        """Stage k's own range test, on the model as it is when the stage begins (e.g. fastai's
        lr_find after unfreeze), with its groups, multipliers, image size and augmentation."""
        stage = self.schedule.stages[k]
        lrs, losses = self._range_test(stage.image_size, stage.augment, self.config.seed + 1 + k)
        if len(lrs) < 10:
            raise RuntimeError(f"stage {k}'s LR range test diverged after {len(lrs)} steps; expected >= 10")
        return {"stage": k, "lrs": lrs, "losses": losses, "suggestions": suggest(lrs, losses)}

    def _range_test(self, size: int, augment: bool, seed: int) -> tuple[list[float], list[float]]:
        """LR range test over all classes, with its own generator (the run's randomness is
        untouched) and full forward passes; model and optimizer come back unchanged."""
        gen = torch.Generator(self.device).manual_seed(seed)
        stream = IndexStream(torch.arange(len(self.data.train_y), device=self.device), gen)
        cache, self.cache = self.cache, None

        def next_loss() -> torch.Tensor:
            return self._loss(self.augmenter.batch(self.data.train_x, self.data.train_y,
                                                   stream.next(self.schedule.batch_size), size, gen, augment),
                              subset=False)

        # The global RNG (dropout) comes back as it was: a run whose range test was read from the
        # disk cache must draw the same dropout masks as the run that computed it.
        devices = [self.device] if self.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices):
                return range_test(self.model, self.optimizer, next_loss, train_mode=self._train_mode)
        finally:
            self.cache = cache

    # --- the loop ---------------------------------------------------------------------------
    def run(self) -> Iterator[dict]:
        """Train to the end of the schedule, yielding a record at each evaluation."""
        ctr, s = self.counters, self.schedule
        if self.max_lr is None:
            self.lr_finder = self.find_max_lr()
            self.max_lr = self.lr_finder["suggestions"][self.config.lr_rule] * s.lr_mult
        mark = time.perf_counter()  # the training clock runs from here to the next record
        while ctr["stage"] < len(s.stages) and ctr["status"] == "running":
            k = ctr["stage"]
            stage = s.stages[k]
            if self.stream is None:
                self._enter_stage(k)
            self._set_lr(k)
            loss = self._loss(self._batch(k, self.stream.next(s.batch_size), self.generator))
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
                self._sync()
                stop = time.perf_counter()
                ctr["wall"] += stop - mark
                record = self._record(k, stage_done)
                ctr["eval_seconds"] += time.perf_counter() - stop  # the evaluation
                handed = time.perf_counter()
                yield {**record, "eval_seconds": ctr["eval_seconds"]}
                mark = time.perf_counter()
                ctr["eval_seconds"] += mark - handed  # what the consumer did with it: checkpoint, report

    def full_problem_share(self, examples: int) -> float:
        """Fraction of the budget spent so far in the final stage (the full problem)."""
        early = sum(self.stage_steps[:-1]) * self.schedule.batch_size
        return max(0, examples - early) / (self.total_steps * self.schedule.batch_size)

    def _set_lr(self, k: int) -> None:
        """Each group's LR for the next step of stage k: the stage's max LR x the policy's factor
        x the group's multiplier. A stage with its own policy runs it over its own steps."""
        ctr, policy = self.counters, self.schedule.stages[k].lr_policy
        if policy is None:
            factor, momentum = self.schedule.lr_policy(ctr["step"] / self.total_steps)
        else:
            factor, momentum = policy(ctr["stage_step"] / self.stage_steps[k])
        self.lr_now = self.stage_lr[k] * factor
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_now * group["mult"]
            if "betas" in group:
                group["betas"] = (momentum, group["betas"][1])
            else:
                group["momentum"] = momentum

    # --- evaluation and records ---------------------------------------------------------------
    def _sync(self) -> None:
        """Wait for queued device work, so a clock read after it counts that work (CUDA is async)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @torch.no_grad()
    def evaluate(self, split: str, size: int, classes: tuple[int, ...]) -> dict:
        """Loss and accuracy on `split` (val or test), on all classes and on `classes` alone (logits
        restricted to them): {"<split>_loss", "<split>_acc", "<split>_loss_seen", "<split>_acc_seen"}."""
        self.model.eval()
        images, y = self.data.split(split)
        logits = []
        if self.eval_cache and split == self.config.monitor and size == self.cache_key[0]:
            # a cached stage: the frozen prefix ran once over the monitored split
            feats = [self.eval_cache[flip].gather().split(self.config.eval_batch) for flip in self.eval_cache]
            for parts in zip(*feats):
                with autocast(self.device, self.precision):
                    outs = [self.rest(part).float() for part in parts]
                logits.append(sum(outs) / len(outs))  # flip TTA: the mean of x's and its mirror's logits
        else:
            for x in images.split(self.config.eval_batch):
                xb = self.augmenter.normalize(x, size)
                with autocast(self.device, self.precision):
                    out = self.model(xb).float()
                    if self.schedule.tta:  # flip test-time augmentation: average the logits of x and its mirror
                        out = (out + self.model(xb.flip(-1)).float()) / 2
                logits.append(out)
        self._train_mode()
        logits = torch.cat(logits)
        seen = torch.tensor(classes, device=self.device)
        mask = torch.isin(y, seen)
        remap = torch.full((self.data.num_classes,), -1, device=self.device, dtype=torch.long)
        remap[seen] = torch.arange(len(seen), device=self.device)
        sub = logits[mask][:, seen]
        return {f"{split}_loss": float(F.cross_entropy(logits, y)),
                f"{split}_acc": float((logits.argmax(1) == y).float().mean()),
                f"{split}_loss_seen": float(F.cross_entropy(sub, remap[y[mask]])),
                f"{split}_acc_seen": float((sub.argmax(1) == remap[y[mask]]).float().mean())}

    def _record(self, k: int, stage_end: bool) -> dict:
        """The record of an evaluation: the monitored split every time; at the end of the run the
        test split too (and the validation split, when there is one). A split not evaluated has None."""
        ctr, stage = self.counters, self.schedule.stages[k]
        n_train = len(self.data.train_y)
        finished = ctr["status"] != "running"
        splits = [self.config.monitor]
        if finished:
            splits = [name for name in ("val", "test") if name == "test" or len(self.data.val_y)]
        metrics = {f"{split}_{name}": None for split in MONITORS for name in METRIC_NAMES}
        for split in splits:
            if ctr["status"] == "diverged":
                metrics.update({f"{split}_loss": DIVERGED_LOSS, f"{split}_acc": 0.0,
                                f"{split}_loss_seen": DIVERGED_LOSS, f"{split}_acc_seen": 0.0})
            else:
                metrics.update(self.evaluate(split, stage.image_size, stage.classes))
        train_loss = DIVERGED_LOSS if ctr["status"] == "diverged" else ctr["loss_sum"] / max(1, ctr["loss_count"])
        ctr["loss_sum"], ctr["loss_count"] = 0.0, 0
        return {"step": ctr["step"], "examples": ctr["examples"], "epoch": ctr["examples"] / n_train, "stage": k,
                "image_size": stage.image_size, "classes_seen": len(stage.classes),
                "per_class": -1 if stage.per_class is None else stage.per_class,
                "frozen_groups": self.frozen[k], "precomputed": self.cached(k),
                "lr": self.lr_now, "train_loss": train_loss, **metrics,
                "wall_seconds": ctr["wall"], "compute": ctr["compute"], "status": ctr["status"],
                "stage_end": stage_end, "finished": finished}

    # --- checkpointing ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state(), "counters": dict(self.counters), "max_lr": self.max_lr,
                "stage_lr": {str(k): v for k, v in self.stage_lr.items()}, "lr_now": self.lr_now,
                "torch_rng": torch.get_rng_state(),  # dropout in fastai heads draws from the global RNG
                "stream": None if self.stream is None else self.stream.state_dict(),
                "schedule": self.schedule.to_json(), "config": asdict(self.config)}

    def load_state_dict(self, state: dict) -> None:
        if state["schedule"] != self.schedule.to_json():
            raise ValueError("checkpoint was written for a different schedule; expected the same schedule JSON")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.counters = {"eval_seconds": 0.0, **state["counters"]}  # checkpoints before eval_seconds lack it
        self.max_lr = state["max_lr"]
        self.stage_lr = {int(k): float(v) for k, v in state.get("stage_lr", {}).items()}
        self.lr_now = float(state.get("lr_now", 0.0))
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])
        self.stream = None
        if state["stream"] is not None:
            self._enter_stage(self.counters["stage"])
            self.stream.load_state_dict(state["stream"])
