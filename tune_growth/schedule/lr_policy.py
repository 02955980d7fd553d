"""Learning-rate policies as pure functions of training progress t in [0, 1] (planned optimizer
steps done / planned steps in the whole schedule), in the manner of fastai's schedule.py.

Because t counts planned steps over the whole staged run, a policy stays correct however the
budget is split between stages of different sizes. Each policy returns (lr as a fraction of the
max LR, momentum); momentum is SGD's momentum or Adam's beta1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

LR_POLICIES = ("onecycle", "sgdr", "linear")


def cos_anneal(start: float, end: float, frac: float) -> float:
    """Cosine from `start` (frac=0) to `end` (frac=1)."""
    return end + (start - end) * (1 + math.cos(math.pi * min(max(frac, 0.0), 1.0))) / 2


@dataclass(frozen=True)
class LRPolicy:
    """Which policy and its parameters.

    onecycle: warm up over `pct_start` of training from max/div_factor to max, then anneal to
      max/final_div, with momentum cycled moms[0] -> moms[1] -> moms[0] (Smith 2018; fastai).
    sgdr: `cycles` cosine cycles from max to max/final_div, each `cycle_mult` times longer than
      the previous, sized so they fill the budget exactly (Loshchilov & Hutter 2017).
    linear: linear decay from max to zero after an optional linear warm-up over `warmup` of
      training (budgeted training, Li, Yumer & Ramanan 2020).
    """

    name: str = "onecycle"
    pct_start: float = 0.25
    div_factor: float = 25.0
    final_div: float = 1e4
    moms: tuple[float, float] = (0.95, 0.85)
    cycles: int = 3
    cycle_mult: float = 2.0
    warmup: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in LR_POLICIES:
            raise ValueError(f"lr policy {self.name!r} is unknown; expected one of {', '.join(LR_POLICIES)}")
        checks = [("pct_start", 0.0 < self.pct_start < 1.0, "0 < pct_start < 1"),
                  ("div_factor", self.div_factor >= 1.0, "div_factor >= 1"),
                  ("final_div", self.final_div >= 1.0, "final_div >= 1"),
                  ("cycles", isinstance(self.cycles, int) and self.cycles >= 1, "an integer >= 1"),
                  ("cycle_mult", self.cycle_mult >= 1.0, "cycle_mult >= 1"),
                  ("warmup", 0.0 <= self.warmup < 1.0, "0 <= warmup < 1"),
                  ("moms", len(self.moms) == 2 and all(0.0 <= m < 1.0 for m in self.moms), "two values in [0, 1)")]
        for field, ok, valid in checks:
            if not ok:
                raise ValueError(f"lr policy {field}={getattr(self, field)!r} is invalid; expected {valid}")
        object.__setattr__(self, "moms", tuple(float(m) for m in self.moms))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "LRPolicy":
        """From to_dict() output that went through JSON (moms arrives as a list)."""
        return cls(**{**data, "moms": tuple(data.get("moms", cls.moms))})

    def __call__(self, t: float) -> tuple[float, float]:
        """(lr / max_lr, momentum) at progress t in [0, 1]."""
        t = min(max(t, 0.0), 1.0)
        if self.name == "onecycle":
            return onecycle(t, self.pct_start, self.div_factor, self.final_div, self.moms)
        if self.name == "sgdr":
            return sgdr(t, self.cycles, self.cycle_mult, self.final_div), self.moms[0] - 0.05
        return linear(t, self.warmup), self.moms[0] - 0.05


def onecycle(t: float, pct_start: float, div_factor: float, final_div: float,
             moms: tuple[float, float]) -> tuple[float, float]:
    if t < pct_start:
        frac = t / pct_start
        return cos_anneal(1.0 / div_factor, 1.0, frac), cos_anneal(moms[0], moms[1], frac)
    frac = (t - pct_start) / (1.0 - pct_start)
    return cos_anneal(1.0, 1.0 / final_div, frac), cos_anneal(moms[1], moms[0], frac)


def sgdr_cycle_bounds(cycles: int, cycle_mult: float) -> list[float]:
    """Start of each cycle and the end (1.0) as fractions of training: lengths c, c*m, c*m^2, ..."""
    lengths = [cycle_mult ** i for i in range(cycles)]
    total, bounds, acc = sum(lengths), [0.0], 0.0
    for length in lengths:
        acc += length
        bounds.append(acc / total)
    bounds[-1] = 1.0
    return bounds


def sgdr(t: float, cycles: int, cycle_mult: float, final_div: float) -> float:
    bounds = sgdr_cycle_bounds(cycles, cycle_mult)
    for start, end in zip(bounds[:-1], bounds[1:]):
        if t < end or end == 1.0:
            return cos_anneal(1.0, 1.0 / final_div, (t - start) / (end - start))
    return 1.0 / final_div  # unreachable: the last bound is 1.0


def linear(t: float, warmup: float) -> float:
    if warmup > 0 and t < warmup:
        return t / warmup
    return (1.0 - t) / (1.0 - warmup) if warmup > 0 else 1.0 - t
