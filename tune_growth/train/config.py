"""How to run a schedule (not what the schedule is): the RunConfig every trainer takes, checked
when it is built so a bad value fails before any data or model is touched."""

from __future__ import annotations

from dataclasses import dataclass

from tune_growth.cache import DEFAULT_CACHE_DIR
from tune_growth.train.device import COMPILE_CHOICES
from tune_growth.train.lr_finder import SUGGESTIONS
from tune_growth.train.records import SPLITS

DIVERGED_LOSS = 1e6  # finite sentinel loss reported for a diverged run (accuracy is reported as 0)
MONITORS = SPLITS  # the split evaluated at every record: val or test


@dataclass(frozen=True)
class RunConfig:
    """`evals`: evaluations spread evenly over the budget in examples, plus one at every stage end.
    `lr_rule`: the LR finder's suggestion used when the schedule's max_lr is "find";
    `stage_lr_rule` the one for a stage's own range test ("find" in a stage, e.g. at the unfreeze).
    That defaults to valley, fastai's default: with the head already trained the curve falls little
    and late, and steep reads noise there (valley's misses are timid, steep's ruinous; measured:
    README, Fine-tuning).
    `pretrained`: a weights file (or "imagenet") loaded into everything but the head.
    `precompute`: train frozen, unaugmented stages on cached activations, held on the device up
    to `activation_mb` MiB, beyond that in a memory-mapped file.
    `monitor`: the split evaluated at every record, "val" (what selects: searches) or "test" (what
    reports: the study's time to a test accuracy); the final record evaluates both.
    `compile`: torch.compile the training forward pass (`auto`: on CUDA only; device.resolve_compile);
    one compilation per image size and frozen/training layout, evaluation stays eager."""

    model: str = "lenet5"
    width: float = 1.0
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0
    evals: int = 20
    eval_batch: int | None = None  # images per evaluation forward pass; None: 1000 on a CPU, 4096 on CUDA (device.py)
    lr_rule: str = "steep"
    stage_lr_rule: str = "valley"
    cache_dir: str = DEFAULT_CACHE_DIR
    pretrained: str | None = None
    precompute: bool = True
    activation_mb: float = 2048.0
    monitor: str = "val"
    compile: str = "auto"

    def __post_init__(self) -> None:
        if self.monitor not in MONITORS:
            raise ValueError(f"monitor={self.monitor!r} is invalid; expected one of {', '.join(MONITORS)}")
        if self.compile not in COMPILE_CHOICES:
            raise ValueError(f"compile={self.compile!r} is invalid; expected one of {', '.join(COMPILE_CHOICES)}")
        if self.eval_batch is not None and (not isinstance(self.eval_batch, int) or self.eval_batch < 1):
            raise ValueError(f"eval_batch={self.eval_batch!r} is invalid; expected an integer >= 1 (images) or None")
        if self.evals < 1:
            raise ValueError(f"evals={self.evals!r} is invalid; expected an integer >= 1")
        for name in ("lr_rule", "stage_lr_rule"):
            if getattr(self, name) not in SUGGESTIONS:
                raise ValueError(f"{name}={getattr(self, name)!r} is invalid; expected one of {', '.join(SUGGESTIONS)}")
        if not self.activation_mb >= 0:
            raise ValueError(f"activation_mb={self.activation_mb!r} is invalid; expected >= 0 MiB")
