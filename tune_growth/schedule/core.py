"""The stage schedule: a frozen, validated value the search explores and the trainer reads.

A schedule is an ordered list of stages (which classes, how many examples per class, image size,
share of the budget) plus the run-wide settings. It round-trips through JSON exactly, so it can
sit in a Parquet column, and `describe()` gives a line a person can read. Which examples a
per-class count means is fixed by `selection` (see selection.py): stage k takes the first
`per_class` examples of each class's ranking, so a later stage with a larger count contains the
earlier stage's examples.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields

from tune_growth.data.augment import AugmentConfig
from tune_growth.schedule.lr_policy import LRPolicy
from tune_growth.schedule.rankers import RANKERS

SCHEMA_VERSION = 1
OPTIMIZERS = ("sgd", "adamw")
# What budget_epochs counts: passes over the training set (epochs), or the compute of that many
# passes at full size (compute, examples x pixels): a stage at half the side then trains 4x the examples
BUDGET_UNITS = ("epochs", "compute")
SELECTIONS = tuple(RANKERS)  # the example-selection methods a schedule may name (rankers.py)
MIN_IMAGE_SIZE = 8  # pixels: the smallest input every registered model accepts


class ScheduleError(ValueError):
    """An invalid schedule: the one-line message names the bad value and what would be valid."""


@dataclass(frozen=True)
class Stage:
    """One stage: class ids trained, examples per class (None = all), image side (px), and the
    fraction of the total budget (in examples) it spends.

    Fine-tuning fields (defaults: train everything with the schedule's LR policy):
    freeze_to: leading layer groups frozen (groups.py; -1 = all but the head, 0 = none).
    lr_ratio: LR multiplier of the first layer group; groups up to the head (x1) are geometric
      between (fastai's slice(lr * lr_ratio, lr)), e.g. 1/9.
    augment: whether the schedule's augmentation applies; a frozen stage without it trains on
      precomputed activations (precompute.py).
    lr_policy: this stage's own policy over its own steps (a restart), or None to follow the
      schedule's policy over the whole run.
    max_lr: this stage's max LR: a number, "find" (an LR range test when the stage begins, on
      the model as it is then), or None for the schedule's max LR.
    lr_mult: multiplies whichever max LR the stage uses.
    """

    classes: tuple[int, ...]
    per_class: int | None
    image_size: int
    share: float
    freeze_to: int = 0
    lr_ratio: float = 1.0
    augment: bool = True
    lr_policy: LRPolicy | None = None
    max_lr: float | str | None = None
    lr_mult: float = 1.0

    def describe(self, num_classes: int) -> str:
        classes = "" if len(self.classes) == num_classes else f"{len(self.classes)}cls·"
        count = "all" if self.per_class is None else f"{self.per_class}/cls"
        pct = self.share * 100
        share = f"{pct:.0f}%" if pct >= 1 or pct == 0 else f"{pct:.1f}%"
        extra = ["head only" if self.freeze_to == -1 else f"freeze_to={self.freeze_to}"] if self.freeze_to else []
        if self.lr_ratio != 1.0:
            extra.append(f"lr 1/{1 / self.lr_ratio:.3g}..1")
        if not self.augment:
            extra.append("no aug")
        if self.lr_policy is not None:
            extra.append(self.lr_policy.name)
        if self.max_lr is not None:
            extra.append("lr find" if self.max_lr == "find" else f"lr {self.max_lr:g}")
        if self.lr_mult != 1.0:
            extra.append(f"lr x{self.lr_mult:.3g}")
        return f"{classes}{count}@{self.image_size}px {share}" + (f" [{', '.join(extra)}]" if extra else "")

    def to_dict(self) -> dict:
        """asdict, with the fine-tuning fields only where they differ from their defaults, so a
        schedule without fine-tuning reads (and serialises) as before they existed."""
        out = asdict(self)
        for f in fields(self)[4:]:
            if getattr(self, f.name) == f.default:
                del out[f.name]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Stage":
        """From asdict(stage); fields added after schema 1 was first written default when absent."""
        data = dict(data)
        policy = data.pop("lr_policy", None)
        return cls(tuple(data.pop("classes")), lr_policy=None if policy is None else LRPolicy.from_dict(policy), **data)


@dataclass(frozen=True)
class Schedule:
    """Stages plus run-wide settings. Units: budget_epochs in passes over the full training set
    (budget_unit "epochs": total examples = budget_epochs x train size), or in the compute of that
    many passes at full size (budget_unit "compute": total examples x pixels = budget_epochs x
    train size x full side^2, each stage spending its share of it); batch_size in examples; max_lr
    a number or "find" (the LR finder's suggestion, times lr_mult)."""

    stages: tuple[Stage, ...]
    num_classes: int
    hypothesis: str = "baseline"
    budget_epochs: float = 10.0
    batch_size: int = 128
    lr_policy: LRPolicy = field(default_factory=LRPolicy)
    max_lr: float | str = "find"
    lr_mult: float = 1.0
    weight_decay: float = 5e-4
    optimizer: str = "sgd"
    label_smoothing: float = 0.0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    tta: bool = False
    selection: str = "random"
    selection_seed: int = 0
    budget_unit: str = "epochs"

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))
        _validate(self)

    # --- reading -------------------------------------------------------------------------
    def describe(self) -> str:
        """e.g. '3 stages: 1/cls@14px 5% → 10/cls@14px 15% → all@28px 80%'."""
        n = len(self.stages)
        return f"{n} stage{'s' if n > 1 else ''}: " + " → ".join(s.describe(self.num_classes) for s in self.stages)

    def total_budget(self, train_size: int, full_image_size: int) -> float:
        """The budget in its unit's terms: examples (epochs), or examples x pixels (compute)."""
        return self.budget_epochs * train_size * (full_image_size ** 2 if self.budget_unit == "compute" else 1)

    def stage_examples(self, train_size: int, full_image_size: int) -> list[int]:
        """Planned examples per stage, rounded; the last absorbs the rounding. epochs: share x the
        budget's examples. compute: share x the budget's examples x pixels / the stage's pixels, so a
        stage at half the full side trains 4x the examples of a full-size stage of the same share."""
        total = int(round(self.total_budget(train_size, full_image_size)))  # whole examples (x pixels), as always
        cost = [st.image_size ** 2 if self.budget_unit == "compute" else 1 for st in self.stages]  # per example
        counts = [int(round(st.share * total / c)) for st, c in zip(self.stages[:-1], cost)]
        spent = sum(n * c for n, c in zip(counts, cost))
        return counts + [max(0, int(round((total - spent) / cost[-1])))]

    def stage_steps(self, train_size: int, full_image_size: int) -> list[int]:
        """Optimizer steps per stage: its planned examples in whole batches (at least one)."""
        return [max(1, math.ceil(e / self.batch_size)) for e in self.stage_examples(train_size, full_image_size)]

    def planned_compute(self, train_size: int, full_image_size: int) -> int:
        """Examples x pixels the run will spend: every step's batch at its stage's side."""
        steps = self.stage_steps(train_size, full_image_size)
        return sum(n * self.batch_size * st.image_size ** 2 for n, st in zip(steps, self.stages))

    # --- JSON ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """asdict with the schema version; budget_unit only when it is not epochs, so an epoch
        schedule serialises (and keys its caches) as before the unit existed."""
        out = {"version": SCHEMA_VERSION, **asdict(self)}
        out["stages"] = [s.to_dict() for s in self.stages]
        if self.budget_unit == "epochs":
            del out["budget_unit"]
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "Schedule":
        data = dict(data)
        version = data.pop("version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ScheduleError(f"schedule version {version!r} is not supported; expected {SCHEMA_VERSION}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ScheduleError(f"schedule has unknown field(s) {unknown}; expected only {sorted(known)}")
        if "stages" not in data or "num_classes" not in data:
            raise ScheduleError("schedule needs 'stages' and 'num_classes'")
        try:
            stages = tuple(Stage.from_dict(s) for s in data.pop("stages"))
            policy = data.pop("lr_policy", {})
            augment = data.pop("augment", {})
            return cls(stages=stages, lr_policy=LRPolicy.from_dict(policy), augment=AugmentConfig(**augment), **data)
        except (KeyError, TypeError) as err:
            raise ScheduleError(f"schedule is malformed ({err}); expected the fields of Schedule.to_dict()") from None
        except ValueError as err:
            raise ScheduleError(str(err)) from None

    @classmethod
    def from_json(cls, text: str) -> "Schedule":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as err:
            raise ScheduleError(f"schedule JSON is malformed at line {err.lineno} column {err.colno}: {err.msg}") from None

    # --- against a dataset ---------------------------------------------------------------
    def check_dataset(self, per_class_available: list[int], full_image_size: int) -> None:
        """Raise ScheduleError if a stage asks for more than the dataset has."""
        if len(per_class_available) != self.num_classes:
            raise ScheduleError(f"schedule is for {self.num_classes} classes but the dataset has "
                                f"{len(per_class_available)}; expected them equal")
        for i, stage in enumerate(self.stages):
            have = min(per_class_available[c] for c in stage.classes)
            if stage.per_class is not None and stage.per_class > have:
                raise ScheduleError(f"stage {i} asks for per_class={stage.per_class} examples but its classes "
                                    f"have as few as {have}; expected <= {have} (or all)")
            if stage.image_size > 2 * full_image_size:
                raise ScheduleError(f"stage {i} image_size={stage.image_size} px exceeds twice the dataset's "
                                    f"{full_image_size} px; expected {MIN_IMAGE_SIZE}..{2 * full_image_size}")


def _validate(s: Schedule) -> None:
    def bad(what: str, valid: str) -> None:
        raise ScheduleError(f"{what} is invalid; expected {valid}")

    if not isinstance(s.num_classes, int) or s.num_classes < 2:
        bad(f"num_classes={s.num_classes!r}", "an integer >= 2")
    if not s.stages:
        bad("stages=() (no stages)", "at least one stage")
    for i, st in enumerate(s.stages):
        if not st.classes:
            bad(f"stage {i} classes=()", "at least one class id")
        if len(set(st.classes)) != len(st.classes):
            bad(f"stage {i} classes={st.classes}", "distinct class ids")
        wrong = [c for c in st.classes if not isinstance(c, int) or not 0 <= c < s.num_classes]
        if wrong:
            bad(f"stage {i} class id(s) {wrong}", f"ids in 0..{s.num_classes - 1}")
        if st.per_class is not None and (not isinstance(st.per_class, int) or st.per_class < 1):
            bad(f"stage {i} per_class={st.per_class!r}", "an integer >= 1 or None (all)")
        if not isinstance(st.image_size, int) or st.image_size < MIN_IMAGE_SIZE:
            bad(f"stage {i} image_size={st.image_size!r}", f"an integer >= {MIN_IMAGE_SIZE} px")
        if not isinstance(st.share, (int, float)) or not math.isfinite(st.share) or st.share <= 0:
            bad(f"stage {i} share={st.share!r}", "a positive fraction of the budget")
        if not isinstance(st.freeze_to, int) or isinstance(st.freeze_to, bool):
            bad(f"stage {i} freeze_to={st.freeze_to!r}",
                "an integer (leading layer groups frozen; -1 = all but the head)")
        if not isinstance(st.lr_ratio, (int, float)) or not 0.0 < st.lr_ratio <= 1.0:
            bad(f"stage {i} lr_ratio={st.lr_ratio!r}", "0 < lr_ratio <= 1 (first group's LR / the head's)")
        if not isinstance(st.augment, bool):
            bad(f"stage {i} augment={st.augment!r}", "true or false")
        if st.lr_policy is not None and not isinstance(st.lr_policy, LRPolicy):
            bad(f"stage {i} lr_policy={st.lr_policy!r}", "an LRPolicy or None (the schedule's)")
        if st.max_lr not in (None, "find") and (isinstance(st.max_lr, bool) or not isinstance(st.max_lr, (int, float))
                                                or not st.max_lr > 0):
            bad(f"stage {i} max_lr={st.max_lr!r}", "a positive number, 'find' or None (the schedule's)")
        if not isinstance(st.lr_mult, (int, float)) or not st.lr_mult > 0:
            bad(f"stage {i} lr_mult={st.lr_mult!r}", "a positive number")
    total = sum(st.share for st in s.stages)
    if abs(total - 1.0) > 1e-6:
        bad(f"stage shares summing to {total:.6g}", "shares that add up to 1")
    if not isinstance(s.budget_epochs, (int, float)) or not math.isfinite(s.budget_epochs) or s.budget_epochs <= 0:
        bad(f"budget_epochs={s.budget_epochs!r}", "a positive number of epochs")
    if s.budget_unit not in BUDGET_UNITS:
        bad(f"budget_unit={s.budget_unit!r}", f"one of {', '.join(BUDGET_UNITS)}")
    if not isinstance(s.batch_size, int) or s.batch_size < 1:
        bad(f"batch_size={s.batch_size!r}", "an integer >= 1")
    if s.max_lr != "find" and (not isinstance(s.max_lr, (int, float)) or not s.max_lr > 0):
        bad(f"max_lr={s.max_lr!r}", "a positive number or 'find'")
    if not isinstance(s.lr_mult, (int, float)) or not s.lr_mult > 0:
        bad(f"lr_mult={s.lr_mult!r}", "a positive number")
    if not isinstance(s.weight_decay, (int, float)) or s.weight_decay < 0:
        bad(f"weight_decay={s.weight_decay!r}", "a number >= 0")
    if s.optimizer not in OPTIMIZERS:
        bad(f"optimizer={s.optimizer!r}", f"one of {', '.join(OPTIMIZERS)}")
    if not 0.0 <= s.label_smoothing < 1.0:
        bad(f"label_smoothing={s.label_smoothing!r}", "0 <= label_smoothing < 1")
    if s.selection not in SELECTIONS:
        bad(f"selection={s.selection!r}", f"one of {', '.join(SELECTIONS)}")
