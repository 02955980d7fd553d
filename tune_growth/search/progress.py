"""Live progress of a search that reads at a glance: one line whenever something changes.

A line is printed when a trial starts, reaches an ASHA rung, is stopped, completes, diverges or
errors; events that arrive within `debounce` seconds of each other (a trial ending and the next
one starting in its slot) share one line. Each line says what happened, then the running trials
(stage, image size, classes, budget used, validation accuracy), the counts so far, the best
validation accuracy against the baseline control's, elapsed time and an estimate of what is left:

    [   0:55] #4 completed 97.75%, #6 started, #5 completed 97.50%, #7 started | running #6 stage 3 28px
              10cls 5% 61.25%, #7 stage 1 28px 10cls 1/cls 5% 56.00% | done 6/32: 6 completed, 0 stopped,
              0 diverged, 0 errored | best 97.75% (#4) vs baseline 97.50% | ~3:52 left

(on one line). Statuses come from the trial's own last record: "stopped" is a trial the scheduler
ended before its schedule finished. Ray's own table stays available with `--verbose`.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import IO

from ray.tune import Callback

from tune_growth.results.status import ENDED, screened, trial_status
from tune_growth.schedule.controls import is_control

MAX_RUNNING_SHOWN = 4  # running trials listed on a line; more are counted


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class LiveProgress(Callback):
    def __init__(self, num_trials: int, metric: str = "val_acc", rungs: tuple[float, ...] = (),
                 debounce: float = 1.0, out: IO[str] | None = None, budget_epochs: float | None = None) -> None:
        self.num_trials, self.metric, self.rungs, self.debounce = num_trials, metric, tuple(rungs), debounce
        self.budget_epochs = budget_epochs  # a budget ladder's top budget: a run at a smaller one is screened
        self.out = out
        self.started = time.monotonic()
        self.latest: dict[str, dict] = {}  # trial id -> its last record
        self.numbers: dict[str, int] = {}
        self.ended: dict[str, str] = {}  # trial id -> final status
        self.spent: dict[str, float] = {}  # trial id -> budget used when it ended (fraction of a full run)
        self.best: tuple[float, int] | None = None
        self.baseline: float | None = None
        self.pending: list[str] = []
        self.pending_since: float | None = None
        self.lines = 0

    def setup(self, **info) -> None:
        self.started = time.monotonic()  # the clock starts with this fit (a resumed search too)

    def __getstate__(self) -> dict:  # Tune pickles its callbacks with the experiment; a stream does not pickle
        return {**self.__dict__, "out": None}

    # --- events ---------------------------------------------------------------------------
    def _event(self, text: str) -> None:
        if self.pending_since is None:
            self.pending_since = time.monotonic()
        self.pending.append(text)

    def number(self, trials, trial) -> int:
        """A trial's position in creation order (Tune's list of trials; the control is #0), as
        trials.parquet's trial_number counts them."""
        if trial.trial_id not in self.numbers:
            ids = [t.trial_id for t in trials]
            self.numbers[trial.trial_id] = ids.index(trial.trial_id) if trial.trial_id in ids else len(self.numbers)
        return self.numbers[trial.trial_id]

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self._event(f"#{self.number(trials, trial)} started")

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        before = self.latest.get(trial.trial_id, {}).get("budget_used", 0.0)
        self.latest[trial.trial_id] = result
        now = result.get("budget_used", 0.0)
        crossed = [r for r in self.rungs if before < r <= now]
        if crossed:
            value = result.get(self.metric)
            self._event(f"#{self.number(trials, trial)} at rung {crossed[-1]:.2g}" +
                        (f" {value:.2%}" if value is not None else ""))

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        result = trial.last_result or self.latest.get(trial.trial_id) or {}
        self._end(self.number(trials, trial), trial, trial_status([result], "TERMINATED", False, self._screened(trial)),
                  result)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        result = self.latest.get(trial.trial_id) or {}
        self._end(self.number(trials, trial), trial, trial_status([result], "ERROR", True, self._screened(trial)), result)

    def _screened(self, trial) -> bool:
        return screened((trial.config or {}).get("budget_epochs"), self.budget_epochs)

    def _end(self, number: int, trial, status: str, result: dict | None) -> None:
        result = result or {}
        self.ended[trial.trial_id] = status
        self.spent[trial.trial_id] = 1.0 if status == "completed" else float(result.get("budget_used") or 0.0)
        value = result.get(self.metric)
        control = is_control((trial.config or {}).get("hypothesis", ""), trial_number=number)
        if status == "completed" and value is not None:
            if control:
                self.baseline = value
            elif self.best is None or value > self.best[0]:
                self.best = (value, number)
        shown = f" {value:.2%}" if status in ("completed", "stopped") and value is not None else ""
        self._event(f"#{number} {status}{shown}" + (" (baseline control)" if control else ""))

    def on_step_end(self, iteration, trials, **info) -> None:
        if self.pending_since is not None and time.monotonic() - self.pending_since >= self.debounce:
            self.flush()

    def on_experiment_end(self, trials, **info) -> None:
        self.flush()

    # --- the line -------------------------------------------------------------------------
    def running(self) -> list[str]:
        shown = []
        for trial_id, number in self.numbers.items():
            if trial_id in self.ended:
                continue
            r = self.latest.get(trial_id)
            if r is None:
                shown.append(f"#{number} starting")
                continue
            value, per_class = r.get(self.metric), r.get("per_class", -1)
            examples = f" {per_class}/cls" if per_class is not None and per_class > 0 else ""  # H1's stages
            shown.append(f"#{number} stage {r.get('stage', 0) + 1} {r.get('image_size', '?')}px "
                         f"{r.get('classes_seen', '?')}cls{examples} {r.get('budget_used', 0):.0%}"
                         + (f" {value:.2%}" if value is not None else ""))
        extra = len(shown) - MAX_RUNNING_SHOWN
        return shown[:MAX_RUNNING_SHOWN] + ([f"+{extra} more"] if extra > 0 else [])

    def left(self, elapsed: float) -> str:
        """Remaining time at the rate so far: budget-fractions done per second, against what the
        running trials still need and the trials not started yet cost on average so far."""
        running = [self.latest.get(t, {}).get("budget_used", 0.0) for t in self.numbers if t not in self.ended]
        done = sum(self.spent.values()) + sum(running)
        if done <= 0 or elapsed <= 0:
            return "estimating"
        per_trial = sum(self.spent.values()) / len(self.spent) if self.spent else 1.0
        waiting = max(0, self.num_trials - len(self.ended) - len(running))
        todo = sum(max(0.0, 1.0 - u) for u in running) + waiting * per_trial
        return f"~{clock(todo * elapsed / done)} left"

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        counts = Counter(self.ended.values())
        parts = [f"[{clock(elapsed):>7}] " + ", ".join(self.pending)]
        running = self.running()
        if running:
            parts.append("running " + ", ".join(running))
        parts.append(f"done {len(self.ended)}/{self.num_trials}: " + ", ".join(f"{counts[s]} {s}" for s in ENDED))
        if self.best is not None:
            base = f" vs baseline {self.baseline:.2%}" if self.baseline is not None else ""
            parts.append(f"best {self.best[0]:.2%} (#{self.best[1]}){base}")
        elif self.baseline is not None:
            parts.append(f"baseline {self.baseline:.2%}")
        parts.append(self.left(elapsed) if len(self.ended) < self.num_trials else f"took {clock(elapsed)}")
        return " | ".join(parts)

    def flush(self) -> None:
        if not self.pending:
            return
        try:
            text = self.line()
        except (TypeError, ValueError, KeyError) as err:  # a display must never end a search
            text = f"{', '.join(self.pending)} (progress line failed: {type(err).__name__}: {err})"
        print(text, file=self.out or sys.stdout, flush=True)
        self.lines += 1
        self.pending, self.pending_since = [], None
