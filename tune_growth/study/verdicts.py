"""What an effect says, as typed values: which measure (final accuracy, compute or seconds to a
target), which way it goes (a Direction), and for a time to target how many seeds of each side
reached it. The plain sentence is rendered last, from these fields, by `render`; the tables and
the budget summaries read the fields, never the sentence.

Why a time to target can say less than its interval: a seed that missed the target is counted at
its full budget, which understates its true cost. So "sooner" is claimed only when every seed of
the schedule reached the target, and "slower" only when every seed of the reference did (each
claim stays valid when the other side is censored: the truth is further the same way).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tune_growth.study.stats import Effect


class Measure(Enum):
    """What an effect measures; the value is the effects table's `measure_kind`."""

    ACCURACY = "accuracy"  # final test accuracy, in percentage points
    COMPUTE = "compute"  # fraction of the reference's compute saved to a target
    SECONDS = "seconds"  # fraction of the reference's training seconds saved to a target

    @property
    def label(self) -> str:
        """The effects table's `measure` column."""
        return "final accuracy (points)" if self is Measure.ACCURACY else f"{self.value} saved to target"


SPEEDS = (Measure.COMPUTE, Measure.SECONDS)  # the time-to-target measures, in table order


class Direction(Enum):
    """Which way an effect goes; the value is the effects table's `direction`."""

    HELPS = "helps"  # more accurate, or the target reached sooner
    HURTS = "hurts"  # less accurate, or the target reached later
    NO_DIFFERENCE = "no detectable difference"  # the interval holds 0
    INCONCLUSIVE = "inconclusive"  # the interval excludes 0, but censored seeds could have made it so
    NOT_REACHED = "not reached"  # no seed of the schedule reached the target
    UNRESOLVED = "unresolved"  # a run reached the target by its first evaluation: no lower bound


# how the budget summaries name a time to target's direction
SPEED_WORDS = {Direction.HELPS: "sooner", Direction.HURTS: "slower",
               Direction.NO_DIFFERENCE: "no detectable difference", Direction.UNRESOLVED: "unresolved",
               Direction.NOT_REACHED: "never reached", Direction.INCONCLUSIVE: "inconclusive (missed by some seeds)"}


@dataclass(frozen=True)
class Reach:
    """A time to target's target (an accuracy, as a fraction) and how many seeds of the schedule
    and of the reference reached it."""

    target: float
    reached: int
    seeds: int
    reference_reached: int


@dataclass(frozen=True)
class Verdict:
    """An effect with its measure and direction; `reach` for a time to target, None for accuracy."""

    measure: Measure
    effect: Effect
    direction: Direction
    reach: Reach | None = None


def summary_word(measure: Measure, direction: Direction) -> str:
    """How the budget summaries name `direction`: helps/hurts for accuracy, sooner/slower for a
    time to target."""
    return direction.value if measure is Measure.ACCURACY else SPEED_WORDS[direction]


def accuracy_verdict(effect: Effect) -> Verdict:
    """A final-accuracy difference (points): helps or hurts when its interval excludes 0."""
    direction = (Direction.HELPS if effect.low > 0 else Direction.HURTS if effect.high < 0
                 else Direction.NO_DIFFERENCE)
    return Verdict(Measure.ACCURACY, effect, direction)


def _speed_direction(effect: Effect, reach: Reach) -> Direction:
    if reach.reached == 0:
        return Direction.NOT_REACHED
    if effect.unresolved:
        return Direction.UNRESOLVED
    if effect.detectable and effect.estimate > 0 and reach.reached < reach.seeds:
        return Direction.INCONCLUSIVE  # the schedule's censored seeds count cheaper than they were
    if effect.detectable and effect.estimate < 0 and reach.reference_reached < reach.seeds:
        return Direction.INCONCLUSIVE  # the reference's censored seeds count cheaper than they were
    if not effect.detectable:
        return Direction.NO_DIFFERENCE
    return Direction.HELPS if effect.estimate > 0 else Direction.HURTS


def speed_verdict(effect: Effect, target: float, unit: Measure | str, reached: int, seeds: int,
                  reference_reached: int | None = None) -> Verdict:
    """A `speedup` effect to `target` in `unit` (compute or seconds), with how many of `seeds`
    seeds reached it (the reference's: all, unless `reference_reached` says fewer)."""
    measure = Measure(unit)
    if measure not in SPEEDS:
        raise ValueError(f"unit {unit!r} is invalid; expected one of {[m.value for m in SPEEDS]}")
    reach = Reach(target, reached, seeds, seeds if reference_reached is None else reference_reached)
    return Verdict(measure, effect, _speed_direction(effect, reach), reach)


def _render_accuracy(e: Effect, direction: Direction) -> str:
    if direction is Direction.NO_DIFFERENCE:
        return f"no detectable difference in accuracy ({e.estimate:+.2f} points [{e.low:+.2f}, {e.high:+.2f}])"
    word = "more" if direction is Direction.HELPS else "less"
    return f"{abs(e.estimate):.2f} points {word} accurate [{e.low:+.2f}, {e.high:+.2f}]"


def _render_speed(e: Effect, direction: Direction, unit: str, r: Reach) -> str:
    target = f"{r.target:.1%}"
    if direction is Direction.NOT_REACHED:
        return f"never reached {target} (0/{r.seeds} seeds)"
    if direction is Direction.UNRESOLVED:
        return (f"unresolved: {e.unresolved} runs reached {target} by their first evaluation "
                f"(evaluations {100 * (e.resolution or 0):.0f}% apart; evaluate more often)")
    if direction is Direction.INCONCLUSIVE:
        return (f"inconclusive: only {r.reached}/{r.seeds} seeds reached {target}" if e.estimate > 0 else
                f"inconclusive: the reference reached {target} in only {r.reference_reached}/{r.seeds} seeds")
    interval = f"[{100 * e.low:+.0f}%, {100 * e.high:+.0f}%]"
    if e.resolution is not None:
        interval += f" (evaluations {100 * e.resolution:.0f}% apart)"
    tail = reached_note(r.reached, r.seeds)
    if direction is Direction.NO_DIFFERENCE:
        return f"no detectable difference in {unit} to {target} {interval}{tail}"
    if direction is Direction.HELPS:
        return f"reaches {target} {100 * e.estimate:.0f}% sooner in {unit} {interval}{tail}"
    return f"slower: reaches {target} with {100 * -e.estimate:.0f}% more {unit} {interval}{tail}"


def render(verdict: Verdict) -> str:
    """The plain sentence, e.g. '1.02 points more accurate [+0.61, +1.43]' or 'reaches 97.5% 23%
    sooner in compute [+12%, +31%]'."""
    if verdict.reach is None:
        return _render_accuracy(verdict.effect, verdict.direction)
    return _render_speed(verdict.effect, verdict.direction, verdict.measure.value, verdict.reach)


def reached_note(reached: int, seeds: int) -> str:
    """' (3/5 seeds reached it)' when some seeds missed a target, else ''."""
    return "" if reached == seeds else f" ({reached}/{seeds} seeds reached it)"
