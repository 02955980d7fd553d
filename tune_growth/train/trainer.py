"""The staged trainer every trial runs: stages in order, each drawing batches from its own index
subset at its own image size, one LR policy over the whole schedule's planned steps.

It yields one record (records.Record) per evaluation and imports nothing from Ray. Each record
evaluates the monitored split (`RunConfig.monitor`: the validation split, which searches select
on, or the test split, which the study reports on); the final record evaluates the test split
too, so a search touches test once per trial, for the record. `wall_seconds` clocks training
only (optimizer steps, batch preparation, stage set-up); evaluation, checkpointing and reporting
between records are clocked apart in `eval_seconds` (on CUDA the clocks synchronize at their
edges). Its full state saves and loads (checkpoint.py). A NaN or infinite loss ends the run with
status "diverged" and finite sentinel metrics, never an exception.

Fine-tuning is the same loop: a stage may freeze leading layer groups and give each group an LR
multiplier, run its own LR policy and its own LR range test. The parts: the frozen prefix and its
activation caches (frozen.py), each stage's LR and the policy (stage_lr.py), the stage's loss
(loss.py), evaluation (evaluation.py), the counters (counters.py) and checkpoints
(checkpoint.py). This module keeps the loop.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from functools import partial
from time import perf_counter  # read through this module's name, so a test can hand it a clock
from typing import Iterator

import torch

from tune_growth.data import ImageDataset
from tune_growth.data.augment import Augmenter, Batch, IndexStream, host_generator
from tune_growth.models.groups import param_groups
from tune_growth.models.pretrained import load_pretrained
from tune_growth.models.registry import build_model
from tune_growth.schedule.core import Schedule
from tune_growth.schedule.selection import cached_rankings, stage_indices
from tune_growth.train import checkpoint
from tune_growth.train.config import DIVERGED_LOSS, RunConfig
from tune_growth.train.counters import Counters
from tune_growth.train.device import (
    autocast,
    configure_cuda,
    default_eval_batch,
    pick_device,
    resolve_compile,
    resolve_precision,
    use_channels_last,
)
from tune_growth.train.evaluation import diverged_metrics, feature_logits, image_logits, split_metrics
from tune_growth.train.frozen import FrozenPrefix
from tune_growth.train.loss import StageLoss
from tune_growth.train.lr_finder import range_test
from tune_growth.train.records import SPLIT_COLUMNS, Record
from tune_growth.train.stage_lr import StageLR


class Trainer:
    """Runs one Schedule on one ImageDataset. Call `run()` for records; `state_dict()` between
    records to checkpoint; `load_state_dict()` on a fresh Trainer to resume."""

    def __init__(self, schedule: Schedule, data: ImageDataset, config: RunConfig = RunConfig()) -> None:
        self.schedule, self.config = schedule, config
        self.device = pick_device(config.device)
        if self.device.type == "cuda":
            configure_cuda()
        self.eval_batch = config.eval_batch or default_eval_batch(self.device)
        self.data = data.to(self.device)
        schedule.check_dataset(self.data.examples_per_class().tolist(), self.data.image_size)
        if config.monitor == "val" and not len(self.data.val_y):
            raise ValueError(f"monitor='val' needs a validation split, but {self.data.name} has none; expected a "
                             "dataset loaded with val_fraction > 0, or monitor='test'")
        self.precision = resolve_precision(config.precision, self.device, config.model)
        channels_last = use_channels_last(self.device, config.model)
        torch.manual_seed(config.seed)
        model = build_model(config.model, self.data.channels, self.data.num_classes, config.width)
        if config.pretrained is not None:
            load_pretrained(model, config.model, config.pretrained)
        layout = torch.channels_last if channels_last else torch.preserve_format
        self.model = model.to(self.device, memory_format=layout)
        # The training forward pass, compiled where it pays (device.resolve_compile): dynamo
        # specializes on shapes (dynamic=False), so each stage's image size compiles once; the
        # module itself stays uncompiled, so checkpoints and evaluation see plain parameter names.
        self.compiled = resolve_compile(config.compile, self.device)
        self.train_model = torch.compile(self.model, dynamic=False) if self.compiled else self.model
        if self.compiled:  # one graph per stage (its size and frozen groups); past the limit dynamo runs eager
            dynamo = torch._dynamo.config
            dynamo.recompile_limit = max(dynamo.recompile_limit, len(schedule.stages) + 1)
        self.optimizer = self._make_optimizer()
        self.augmenter = Augmenter(schedule.augment, self.data.mean, self.data.std, self.device, channels_last)
        self.prefix = FrozenPrefix(self.model, schedule, self.data, self.augmenter, config, self.precision,
                                   self.eval_batch, self.train_model)
        self.lr = StageLR(schedule, config, self.precision, self.data.fingerprint)
        self.loss = StageLoss(self.data.num_classes, schedule.label_smoothing, self.device)
        self.generator = torch.Generator(self.device).manual_seed(config.seed)
        self.host_generator = host_generator(self.generator, config.seed)  # mixup's weights (augment.py)
        # Training losses summed on the device since the last record (float64: the same sums the
        # host's Python floats gave); read, and checked for divergence, only at a record.
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        self.prepared: torch.Tensor | None = None  # the training set normalized at the stage's size, or None
        self.rankings = cached_rankings(self.data, schedule.selection, schedule.selection_seed, config.cache_dir)
        n_train, full = len(self.data.train_y), self.data.image_size
        self.stage_steps = schedule.stage_steps(n_train, full)
        self.total_steps = sum(self.stage_steps)
        # between evaluations: examples (an epoch budget) or examples x pixels (a compute budget)
        self.eval_every = schedule.total_budget(n_train, full) / config.evals
        self.stream: IndexStream | None = None  # the current stage's batches of indices
        self.counters = Counters()

    # The parts' state, under the names readers of a trainer use.
    groups = property(lambda self: self.prefix.groups)
    cache = property(lambda self: self.prefix.cache)
    max_lr = property(lambda self: self.lr.max_lr)
    lr_finder = property(lambda self: self.lr.lr_finder)
    stage_lr = property(lambda self: self.lr.stage_lr)
    stage_finders = property(lambda self: self.lr.stage_finders)

    def _make_optimizer(self) -> torch.optim.Optimizer:
        """One parameter group per layer group, so a stage can set each group's LR multiplier."""
        s, params = self.schedule, param_groups(self.model)
        # On CUDA one fused kernel updates every parameter; on the CPU the default per-tensor
        # loop, whose numbers every CPU figure and test was made with.
        fused = {"fused": True} if self.device.type == "cuda" else {}
        if s.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.99), weight_decay=s.weight_decay, **fused)
        return torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=s.weight_decay, **fused)

    def stage_indices(self, k: int) -> torch.Tensor:
        """Training indices of stage k: the first per_class of each of its classes' rankings."""
        stage = self.schedule.stages[k]
        return stage_indices(stage.classes, stage.per_class, self.rankings).to(self.device)

    def enter_stage(self, k: int) -> None:
        """Set up stage k: frozen groups and LR multipliers, its max LR (running its range test if
        it asks for one), the activation cache when it qualifies, its index stream, and its classes
        for the loss."""
        self.prefix.apply(k, self.optimizer)
        self.lr.begin(k, self._range_test)
        self.prefix.update(k)
        self.stream = IndexStream(self.stage_indices(k), self.generator, host_copy=self.prefix.needs_host_indices())
        stage = self.schedule.stages[k]  # a set normalized once when batches can gather from it (augment.py)
        self.prepared = None if self.prefix.cache is not None else self.augmenter.prepare(
            self.data.train_x, stage.image_size, self.stage_steps[k] * self.schedule.batch_size,
            self.config.activation_mb, stage.augment)
        self.loss.set_classes(self.schedule.stages[k].classes)

    def _batch(self, k: int, idx: torch.Tensor, generator: torch.Generator) -> Batch:
        """Stage k's training batch of examples `idx`: cached features, or augmented (when the
        stage augments) and normalized images at the stage's size."""
        cached = self.prefix.batch(idx, self.stream.last_host)
        if cached is not None:
            return cached
        stage = self.schedule.stages[k]
        if self.prepared is not None:
            return self.augmenter.mix(self.prepared[idx], self.data.train_y[idx], self.host_generator,
                                      train=stage.augment)
        return self.augmenter.batch(self.data.train_x, self.data.train_y, idx, stage.image_size, generator,
                                    train=stage.augment, host=self.host_generator)

    def _loss(self, batch: Batch, subset: bool = True, eager: bool = False) -> torch.Tensor:
        """The stage's loss of `batch` (loss.py); `subset=False`: over all classes; `eager`: through
        the uncompiled whole model (the range test's few hundred steps are not worth a compilation)."""
        with autocast(self.device, self.precision):
            logits = self.model(batch.x) if eager else self.prefix.forward(batch.x)
        return self.loss(logits, batch, subset)

    def _range_test(self, size: int, augment: bool, seed: int) -> tuple[list[float], list[float]]:
        """LR range test over all classes, with its own generator (the run's randomness is
        untouched) and full forward passes; model and optimizer come back unchanged."""
        gen = torch.Generator(self.device).manual_seed(seed)
        host = host_generator(gen, seed)
        stream = IndexStream(torch.arange(len(self.data.train_y), device=self.device), gen)

        def next_loss() -> torch.Tensor:
            return self._loss(self.augmenter.batch(self.data.train_x, self.data.train_y,
                                                   stream.next(self.schedule.batch_size), size, gen, augment, host=host),
                              subset=False, eager=True)

        # The global RNG (dropout) comes back as it was: a run whose range test was read from the
        # disk cache must draw the same dropout masks as the run that computed it.
        devices = [self.device] if self.device.type == "cuda" else []
        with self.prefix.bypassed(), torch.random.fork_rng(devices=devices):
            return range_test(self.model, self.optimizer, next_loss,
                              train_mode=lambda: self.prefix.train_mode(self.counters.stage))

    def find_max_lr(self) -> dict:
        """Fix the schedule's max LR from its range test, with the first stage's groups and
        multipliers (stage_lr.StageLR.find_max_lr); return the test's curve and suggestions."""
        self.prefix.apply(0, self.optimizer)
        self.lr.find_max_lr(self._range_test)
        return self.lr.lr_finder

    # --- the loop ---------------------------------------------------------------------------
    def run(self) -> Iterator[Record]:
        """Train to the end of the schedule, yielding a record at each evaluation."""
        ctr, s = self.counters, self.schedule
        if self.lr.max_lr is None:
            self.find_max_lr()
        mark = perf_counter()  # the training clock runs from here to the next record
        while ctr.stage < len(s.stages) and ctr.status == "running":
            k = ctr.stage
            if self.stream is None:
                self.enter_stage(k)
            self._step(k)
            stage_done = ctr.stage_step >= self.stage_steps[k]
            if stage_done:  # advance before yielding, so a checkpoint taken now never straddles stages
                ctr.next_stage()
                self.stream = None
            if ctr.stage == len(s.stages):
                ctr.status = "completed"
            if ctr.eval_due(self.eval_every, s.budget_unit) or stage_done or ctr.status != "running":
                record = self._take_record(k, stage_done, mark)
                handed = perf_counter()
                yield record
                mark = perf_counter()
                ctr.eval_seconds += mark - handed  # what the consumer did with it: checkpoint, report

    def _step(self, k: int) -> None:
        """One optimizer step of stage k. It never waits for the device: its loss is summed there."""
        ctr, s = self.counters, self.schedule
        self.lr.apply(k, ctr, self.stage_steps, self.optimizer)
        loss = self._loss(self._batch(k, self.stream.next(s.batch_size), self.generator))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.loss_sum += loss.detach()  # on the device: no host sync per step
        ctr.add_step(s.batch_size, s.stages[k].image_size)

    def _take_record(self, k: int, stage_end: bool, mark: float) -> Record:
        """The record closing the training interval begun at `mark` (perf_counter seconds): the
        training clock stops at the device's last queued step, and the evaluation is clocked apart."""
        ctr = self.counters
        # The one read of the losses since the last record: a NaN or infinite one among them ends
        # the run here, at most one evaluation after it appeared.
        ctr.loss_sum = float(self.loss_sum)
        self.loss_sum.zero_()
        if not math.isfinite(ctr.loss_sum):
            ctr.status = "diverged"
        self._sync()
        stop = perf_counter()
        ctr.wall += stop - mark
        record = self._record(k, stage_end)
        ctr.eval_seconds += perf_counter() - stop  # the evaluation
        record["eval_seconds"] = ctr.eval_seconds
        return record

    def full_problem_share(self, examples: int, compute: int) -> float:
        """Fraction of the budget spent so far in the final stage (the full problem), in the
        budget's unit: examples (epochs) or examples x pixels (compute)."""
        s = self.schedule
        cost = [st.image_size ** 2 if s.budget_unit == "compute" else 1 for st in s.stages]  # per example
        planned = [steps * s.batch_size * c for steps, c in zip(self.stage_steps, cost)]
        spent = compute if s.budget_unit == "compute" else examples
        return max(0, spent - sum(planned[:-1])) / sum(planned)

    # --- evaluation and records ---------------------------------------------------------------
    def _sync(self) -> None:
        """Wait for queued device work, so a clock read after it counts that work (CUDA is async)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def evaluate(self, split: str, size: int, classes: tuple[int, ...]) -> dict[str, float]:
        """Loss and accuracy on `split` (val or test) at `size` px, on all classes and on `classes`
        alone (evaluation.split_metrics); from the cached features when the prefix serves them."""
        self.model.eval()
        images, y = self.data.split(split)
        precision = partial(autocast, self.device, self.precision)
        if self.prefix.serves(split, size):  # a cached stage: the frozen prefix ran once over the split
            features = [cache.gather() for cache in self.prefix.eval_cache.values()]
            logits = feature_logits(self.prefix.rest, features, precision, self.eval_batch)
        else:
            logits = image_logits(self.model, images, lambda x: self.augmenter.normalize(x, size), precision,
                                  self.eval_batch, self.schedule.tta)
        self.prefix.train_mode(self.counters.stage)
        return split_metrics(split, logits, y, classes, self.data.num_classes)

    def _record(self, k: int, stage_end: bool) -> Record:
        """The record of an evaluation: the monitored split every time; at the end of the run the
        test split too (and the validation split, when there is one). A split not evaluated has None."""
        ctr, stage = self.counters, self.schedule.stages[k]
        finished = ctr.status != "running"
        splits = [self.config.monitor]
        if finished:
            splits = [name for name in ("val", "test") if name == "test" or len(self.data.val_y)]
        metrics: dict = dict.fromkeys(SPLIT_COLUMNS)
        diverged = ctr.status == "diverged"
        for split in splits:
            evaluated = diverged_metrics(split) if diverged else self.evaluate(split, stage.image_size, stage.classes)
            metrics.update(evaluated)
        train_loss = ctr.take_train_loss()  # taken (and the sums reset) even when diverged
        return Record(step=ctr.step, examples=ctr.examples, epoch=ctr.examples / len(self.data.train_y), stage=k,
                      image_size=stage.image_size, classes_seen=len(stage.classes),
                      per_class=-1 if stage.per_class is None else stage.per_class,
                      frozen_groups=self.prefix.counts[k], precomputed=self.prefix.cached(k), lr=self.lr.now,
                      train_loss=DIVERGED_LOSS if ctr.status == "diverged" else train_loss,
                      **metrics, wall_seconds=ctr.wall, eval_seconds=ctr.eval_seconds, compute=ctr.compute,
                      status=ctr.status, stage_end=stage_end, finished=finished)

    # --- checkpoints (checkpoint.py) -----------------------------------------------------------
    def _parts(self) -> checkpoint.Parts:
        return checkpoint.Parts(self.device, self.model, self.optimizer, self.generator, self.host_generator,
                                self.counters, self.lr)

    def state_dict(self) -> dict:
        """The trainer's state between records, in checkpoint.TrainState's on-disk form."""
        stream = None if self.stream is None else self.stream.state_dict()
        return checkpoint.capture(self._parts(), stream, self.schedule.to_json(), asdict(self.config)).to_dict()

    def load_state_dict(self, state: dict) -> None:
        """Resume from `state_dict()`'s form (older checkpoints included) on a fresh trainer built
        with the same schedule; a mid-stage checkpoint sets its stage up again, then its stream."""
        saved = checkpoint.TrainState.from_dict(state)
        checkpoint.restore(self._parts(), saved, self.schedule.to_json())
        self.stream = None
        if saved.stream is not None:
            self.enter_stage(self.counters.stage)
            self.stream.load_state_dict(saved.stream)
