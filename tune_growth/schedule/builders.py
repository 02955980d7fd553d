"""Build a Schedule from flat parameters, so search spaces only declare numbers and names.

A hypothesis names the axes that grow over the stages (H1 examples per class, H2 classes,
H3 image size) and any settings it fixes (the controls). All of them, combinations and the
baseline included, are the same Schedule object. So is fastai's fine-tuning recipe ("finetune",
see finetune_stages): its stages freeze and unfreeze layer groups instead of growing the problem.
"""

from __future__ import annotations

from typing import Any, Mapping

from tune_growth.data import ImageDataset
from tune_growth.data.augment import AugmentConfig
from tune_growth.schedule.core import MIN_IMAGE_SIZE, Schedule, ScheduleError, Stage
from tune_growth.schedule.lr_policy import LRPolicy
from tune_growth.schedule.selection import cached_class_order

# name -> (axes that grow, parameters the hypothesis fixes)
HYPOTHESES: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "baseline": ((), {}),
    "h1": (("h1",), {}),
    "h2": (("h2",), {}),
    "h3": (("h3",), {}),
    "h1+h2": (("h1", "h2"), {}),
    "h1+h3": (("h1", "h3"), {}),
    "h2+h3": (("h2", "h3"), {}),
    "h1+h2+h3": (("h1", "h2", "h3"), {}),
    # controls
    "random_growing": (("h1",), {"h1_selection": "random"}),  # H1's stage sizes, random examples
    "anti_h1": (("h1",), {"h1_selection": "anti_iconic"}),  # least iconic examples first
    "anti_h2": (("h2",), {"h2_order": "fine_to_coarse"}),  # most similar classes first
    "budgeted": ((), {"lr_policy": "linear"}),  # baseline with linear decay to zero
    # fastai's recipe: head on precomputed activations -> head with augmentation -> unfreeze
    "finetune": (("finetune",), {}),
}

# The run-wide training settings (every other parameter shapes the stages): what "equal knobs"
# means when schedules are compared (tests/test_search_spaces.py)
RECIPE = ("batch_size", "max_lr", "lr_mult", "lr_policy", "pct_start", "cycles", "cycle_mult", "warmup",
          "weight_decay", "optimizer", "label_smoothing", "crop_pad", "flip", "cutout", "mixup_alpha", "tta")

DEFAULTS: dict[str, Any] = {
    "hypothesis": "baseline",
    "stages": 3,            # stage count for a growing schedule (the baseline has one)
    "early_share": 0.2,     # fraction of the budget spent before the final stage
    "share_growth": 2.0,    # each early stage gets this many times the previous one's budget
    "h1_start": 1,          # examples per class in the first stage
    "h1_growth": 10.0,      # per-class count multiplies by this each stage (the last takes all)
    "h1_selection": "iconic",
    "h2_start": 2,          # classes in the first stage (the last has all)
    "h2_order": "coarse_to_fine",
    "h3_start": 0.5,        # first stage's image side as a fraction of full size (the last is full)
    "budget_epochs": 20.0, "budget_unit": "epochs", "batch_size": "auto", "max_lr": "find", "lr_mult": 1.0,
    "lr_policy": "onecycle", "pct_start": 0.25, "cycles": 3, "cycle_mult": 2.0, "warmup": 0.0,
    "weight_decay": 5e-4, "optimizer": "sgd", "label_smoothing": 0.0,
    "crop_pad": 0, "flip": False, "cutout": 0, "mixup_alpha": 0.0, "tta": False, "selection_seed": 0,
    # fastai's fine-tuning recipe (hypothesis "finetune"); epochs of the full training set
    "ft_head_epochs": 1.0,      # head only, frozen body, no augmentation: precomputed activations
    "ft_aug_epochs": 1.0,       # head only with augmentation (SGDR, 1-epoch cycles)
    "ft_lr_ratio": 1 / 9,       # after unfreezing: first group's LR / the head's (geometric between)
    "ft_unfreeze_lr_mult": 1.0,  # times the LR finder's suggestion at the unfreeze
    "ft_cycle_len": 1.0,        # epochs of the first SGDR cycle after unfreezing (then x cycle_mult)
}


def stage_shares(n_stages: int, early_share: float, share_growth: float) -> list[float]:
    """Budget fractions: early stages split `early_share` in ratio 1 : g : g^2 ..., the last
    stage takes the rest."""
    if n_stages == 1:
        return [1.0]
    weights = [share_growth ** k for k in range(n_stages - 1)]
    early = [early_share * w / sum(weights) for w in weights]
    return early + [1.0 - sum(early)]


def image_sizes(n_stages: int, full: int, start_frac: float) -> list[int]:
    """Geometric from start_frac x full to full, rounded to a multiple of 4 px, at least 8 px."""
    sizes = []
    for k in range(n_stages):
        frac = start_frac ** (1 - k / (n_stages - 1)) if n_stages > 1 else 1.0
        sizes.append(full if k == n_stages - 1 else max(MIN_IMAGE_SIZE, int(round(full * frac / 4)) * 4))
    return sizes


def class_counts(n_stages: int, n_classes: int, start: int) -> list[int]:
    """Geometric from `start` classes to all of them, never shrinking."""
    counts = [int(round(start * (n_classes / start) ** (k / (n_stages - 1)))) if n_stages > 1 else n_classes
              for k in range(n_stages)]
    return [max(counts[: k + 1]) for k in range(n_stages - 1)] + [n_classes]


def per_class_counts(n_stages: int, start: int, growth: float, available: int) -> list[int | None]:
    """start, start*g, start*g^2, ... (capped at what the smallest class has), then all."""
    counts: list[int | None] = [min(available, int(round(start * growth ** k))) for k in range(n_stages - 1)]
    return counts + [None]


CPU_BATCH = 128  # examples per step on a CPU: the default of every CPU figure so far
GPU_MAX_BATCH = 1024  # airbench's batch for ResNet-9-sized nets on CIFAR-10, where an A100 is full
MIN_STEPS_PER_EPOCH = 32  # below this a small training set gets too few updates per epoch


def default_batch_size(device: str, n_train: int) -> int:
    """Examples per step for `n_train` training examples on a `device` type (batch_size="auto").
    CPU: 128. CUDA: the largest power of two <= 1024 that still gives >= 32 steps per epoch, and
    never below 128: a GPU is busy only with hundreds of images per step, but a 5,000-image subset
    at 1024 would get 4 updates per epoch. Full CIFAR-10 (45,000 after validation) gets 1024, the
    CIFAR-10 and MNIST subsets (4,500) get 128. The max LR comes from the range test by default,
    so it follows the batch size."""
    if not str(device).startswith("cuda"):
        return CPU_BATCH
    batch = CPU_BATCH
    while batch * 2 <= GPU_MAX_BATCH and n_train // (batch * 2) >= MIN_STEPS_PER_EPOCH:
        batch *= 2
    return batch


def build_schedule(params: Mapping[str, Any], data: ImageDataset, cache_dir: str | None = None,
                   device: str = "cpu") -> Schedule:
    """Flat parameters (see DEFAULTS) -> a Schedule for `data`. Unknown names raise ScheduleError.
    `cache_dir`: where H2's class order is cached on disk (selection.cached_class_order); None: not cached.
    `device`: the device type the schedule will train on (cpu or cuda), for batch_size="auto"."""
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise ScheduleError(f"unknown schedule parameter(s) {unknown}; expected names from {sorted(DEFAULTS)}")
    name = params.get("hypothesis", DEFAULTS["hypothesis"])
    if name not in HYPOTHESES:
        raise ScheduleError(f"unknown hypothesis {name!r}; expected one of {', '.join(HYPOTHESES)}")
    axes, fixed = HYPOTHESES[name]
    p = {**DEFAULTS, **params, **fixed}
    if p["batch_size"] == "auto":
        p["batch_size"] = default_batch_size(device, len(data.train_y))
    n = int(p["stages"]) if axes else 1
    if n < 1 or (axes and n < 2):
        raise ScheduleError(f"stages={p['stages']!r} is invalid; expected an integer >= 2 for {name!r}")
    if not 0.0 < p["early_share"] < 1.0:
        raise ScheduleError(f"early_share={p['early_share']!r} is invalid; expected 0 < early_share < 1")
    if "h2" in axes and not 1 <= int(p["h2_start"]) <= data.num_classes:
        raise ScheduleError(f"h2_start={p['h2_start']!r} is invalid; expected 1..{data.num_classes} classes")
    if "h1" in axes and (int(p["h1_start"]) < 1 or p["h1_growth"] < 1):
        raise ScheduleError(f"h1_start={p['h1_start']!r}, h1_growth={p['h1_growth']!r} are invalid; "
                            "expected h1_start >= 1 and h1_growth >= 1")
    if "h3" in axes and not 0.0 < p["h3_start"] <= 1.0:
        raise ScheduleError(f"h3_start={p['h3_start']!r} is invalid; expected a fraction in (0, 1]")
    if not p["share_growth"] > 0:
        raise ScheduleError(f"share_growth={p['share_growth']!r} is invalid; expected a positive ratio")
    if "finetune" in axes:
        stages = finetune_stages(p, data)
        return _schedule(stages, name, p, data, "random")
    available = int(data.examples_per_class().min())
    order = (cached_class_order(data, p["h2_order"], p["selection_seed"], cache_dir) if "h2" in axes
             else list(range(data.num_classes)))
    n_cls = class_counts(n, data.num_classes, int(p["h2_start"])) if "h2" in axes else [data.num_classes] * n
    per_cls = per_class_counts(n, int(p["h1_start"]), p["h1_growth"], available) if "h1" in axes else [None] * n
    sizes = image_sizes(n, data.image_size, p["h3_start"]) if "h3" in axes else [data.image_size] * n
    shares = stage_shares(n, p["early_share"], p["share_growth"])
    stages = tuple(Stage(tuple(sorted(order[:n_cls[k]])), per_cls[k], sizes[k], shares[k]) for k in range(n))
    return _schedule(stages, name, p, data, p["h1_selection"] if "h1" in axes else "random")


def _schedule(stages: tuple[Stage, ...], name: str, p: Mapping[str, Any], data: ImageDataset,
              selection: str) -> Schedule:
    """The stages plus the run-wide settings in `p`, checked against the dataset."""
    policy = LRPolicy(p["lr_policy"], pct_start=p["pct_start"], cycles=int(p["cycles"]),
                      cycle_mult=p["cycle_mult"], warmup=p["warmup"])
    augment = AugmentConfig(int(p["crop_pad"]), bool(p["flip"]), int(p["cutout"]), float(p["mixup_alpha"]))
    max_lr = p["max_lr"] if p["max_lr"] == "find" else float(p["max_lr"])
    schedule = Schedule(stages, data.num_classes, name, float(p["budget_epochs"]), int(p["batch_size"]), policy,
                        max_lr, float(p["lr_mult"]), float(p["weight_decay"]), p["optimizer"],
                        float(p["label_smoothing"]), augment, bool(p["tta"]), selection, int(p["selection_seed"]),
                        p["budget_unit"])
    schedule.check_dataset(data.examples_per_class().tolist(), data.image_size)
    return schedule


def sgdr_cycles(epochs: float, cycle_len: float, cycle_mult: float) -> int:
    """How many SGDR cycles of cycle_len, cycle_len*m, ... epochs fit in `epochs` (at least one);
    the policy then stretches them to fill the stage exactly."""
    cycles, used = 1, cycle_len
    while used + cycle_len * cycle_mult ** cycles <= epochs * (1 + 1e-9):
        used += cycle_len * cycle_mult ** cycles
        cycles += 1
    return cycles


def finetune_stages(p: Mapping[str, Any], data: ImageDataset) -> tuple[Stage, ...]:
    """fastai's recipe for a pretrained body (fastai 2018, lessons 1-2) as stages within the budget:
    1. head only (freeze_to=-1) without augmentation, one-cycle, the schedule's max LR: trains on
       precomputed activations of the frozen body (`ft_head_epochs`; skipped at 0);
    2. head only with augmentation, SGDR with 1-epoch cycles (`ft_aug_epochs`; skipped at 0);
    3. everything unfrozen, LRs from ft_lr_ratio (first group) to 1 (head), a fresh LR range test
       times ft_unfreeze_lr_mult, SGDR cycles of ft_cycle_len x cycle_mult^k epochs to the end.
    All stages train every class and example at the dataset's size."""
    budget, head, aug = float(p["budget_epochs"]), float(p["ft_head_epochs"]), float(p["ft_aug_epochs"])
    cycle_len, mult, ratio = float(p["ft_cycle_len"]), float(p["cycle_mult"]), float(p["ft_lr_ratio"])
    if head < 0 or aug < 0 or head + aug >= budget:
        raise ScheduleError(f"ft_head_epochs={head!r}, ft_aug_epochs={aug!r} are invalid for budget_epochs={budget!r}; "
                            "expected both >= 0 with a sum below the budget (the rest trains unfrozen)")
    if not 0 < ratio <= 1:
        raise ScheduleError(f"ft_lr_ratio={ratio!r} is invalid; expected 0 < ft_lr_ratio <= 1 (first group / head)")
    if not cycle_len > 0 or mult < 1:
        raise ScheduleError(f"ft_cycle_len={cycle_len!r}, cycle_mult={mult!r} are invalid; expected "
                            "ft_cycle_len > 0 epochs and cycle_mult >= 1")
    if not p["ft_unfreeze_lr_mult"] > 0:
        raise ScheduleError(f"ft_unfreeze_lr_mult={p['ft_unfreeze_lr_mult']!r} is invalid; expected a positive number")
    every, size = tuple(range(data.num_classes)), data.image_size
    stages = []
    if head > 0:
        stages.append(Stage(every, None, size, head / budget, freeze_to=-1, augment=False,
                            lr_policy=LRPolicy("onecycle", pct_start=p["pct_start"])))
    if aug > 0:
        stages.append(Stage(every, None, size, aug / budget, freeze_to=-1,
                            lr_policy=LRPolicy("sgdr", cycles=max(1, round(aug)), cycle_mult=1.0)))
    unfrozen = budget - head - aug
    policy = LRPolicy("sgdr", cycles=sgdr_cycles(unfrozen, cycle_len, mult), cycle_mult=mult)
    stages.append(Stage(every, None, size, 1.0 - sum(s.share for s in stages), lr_ratio=ratio, lr_policy=policy,
                        max_lr="find", lr_mult=float(p["ft_unfreeze_lr_mult"])))
    return tuple(stages)


def parse_sets(items: list[str]) -> dict:
    """`--set NAME=VALUE` flags as builder parameters, each value of its default's type."""
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in DEFAULTS:
            raise ScheduleError(f"--set {item!r} is invalid; expected NAME=VALUE with NAME one of {sorted(DEFAULTS)}")
        default = DEFAULTS[name]
        if default == "auto":  # a number, or "auto" (chosen for the device)
            try:
                params[name] = value if value == "auto" else int(value)
            except ValueError:
                raise ScheduleError(f"--set {item!r} is invalid; expected an integer or auto") from None
            continue
        try:
            params[name] = (value.lower() in ("1", "true", "yes") if isinstance(default, bool) else
                            type(default)(value) if default is not None and not isinstance(default, str) else value)
        except ValueError:
            raise ScheduleError(f"--set {item!r} is invalid; expected a {type(default).__name__} value") from None
    return params
