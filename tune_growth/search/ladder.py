"""Successive halving over budgets: every run a complete schedule, rungs at growing budgets.

A schedule is defined in fractions of its budget, so the whole schedule at a smaller budget is a
faithful miniature of itself: every stage present, in proportion. That is the low fidelity of
Hyperband and BOHB. With reduction factor eta and R rungs, rung r runs the schedule at
budget / eta^(R-1-r) epochs (eta 3, R 3: 1/9, 1/3 and all of the budget). New configurations
start at rung 0; a configuration is promoted to rung r+1, as a fresh run at that budget, once it
is among the best 1/eta of the runs finished at rung r (ASHA's asynchronous rule: no rung waits
to fill, so the slots stay busy). The search's scheduler is FIFO: no run is cut short.

Each run is one Ray trial; the runs of one configuration share its `point` (the trial number of
its rung-0 run), kept in the searcher's history (history.py: RungEntry), never in the
trial's config. Optuna sees one trial per point (history.py: ladder_points): COMPLETE
with its full-budget value once it ran at the top rung, else PRUNED with its value at each rung
it reached as intermediate values keyed by the rung. TPE ranks complete trials
above pruned ones, and pruned ones by the highest rung reached, then by value there, so a
miniature's accuracy is compared only with other miniatures of the same size.

Promotions, like suggestions, read only the lagged history (runs 0..k-lag-1, all finished), so
the same seed gives the same sequence of runs whatever the timing.
"""

from __future__ import annotations

from typing import Any

from optuna.distributions import distribution_to_json

from tune_growth.search.history import HistoryEntry, RungEntry, optuna_study
from tune_growth.search.searcher import STEP_SCALE, ScheduleSearcher


class BudgetLadder(ScheduleSearcher):
    def __init__(self, *args: Any, budget_epochs: float, eta: float = 3.0, rungs: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not eta > 1:
            raise ValueError(f"reduction factor {eta!r} is invalid; expected a number > 1")
        if rungs < 1:
            raise ValueError(f"rungs={rungs!r} is invalid; expected an integer >= 1")
        self.budget_epochs, self.eta, self.rungs = float(budget_epochs), float(eta), int(rungs)

    def rung_budget(self, rung: int) -> float:
        """Epochs of a run at `rung` (the top rung runs the whole budget)."""
        return self.budget_epochs / self.eta ** (self.rungs - 1 - rung)

    def suggest(self, trial_id: str) -> dict | None:
        k = len(self.history)
        if k == 0 and self.baseline is not None:  # the control: the one-stage schedule at the full budget
            return self._register(RungEntry(trial_id, {}, {}, {**self.baseline}, control=self._control(k), point=0,
                                            rung=self.rungs - 1))
        window = self.history[: max(0, k - self.lag)]
        if any(e.state == "RUNNING" for e in window):
            return None  # wait for the lagged history to finish: keeps the sequence reproducible
        promoted = self._promotion(window)
        if promoted is not None:
            parent = self.history[promoted]
            rung = parent.rung + 1
            return self._register(RungEntry(trial_id, parent.params, parent.distributions,
                                            {**parent.config, "budget_epochs": self.rung_budget(rung)},
                                            point=parent.point, rung=rung))
        trial = optuna_study(window, self.mode, self._sampler(k), self.rungs).ask()  # one trial per configuration
        extra = self.space(trial) or {}
        params = dict(trial.params)
        dists = {name: distribution_to_json(d) for name, d in trial.distributions.items()}
        config = {**self.fixed, **params, **extra, "budget_epochs": self.rung_budget(0)}
        return self._register(RungEntry(trial_id, params, dists, config, point=k, rung=0))

    def _promotion(self, window: list[RungEntry]) -> int | None:
        """The history index of the run to promote next: from the highest rung down, the best run
        among the top 1/eta of its rung's finished runs whose configuration has not been promoted
        yet (anywhere in the history). None when nothing is due."""
        promoted = {(e.point, e.rung) for e in self.history if not e.control}
        sign = -1.0 if self.mode == "max" else 1.0
        for rung in range(self.rungs - 2, -1, -1):
            done = [i for i, e in enumerate(window)
                    if not e.control and e.rung == rung and e.state == "COMPLETE"]
            done.sort(key=lambda i: (sign * window[i].value, i))
            for i in done[: int(len(done) // self.eta)]:
                if (window[i].point, rung + 1) not in promoted:
                    return i
        return None

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        """Nothing: a run's fidelity is its rung, known when it finishes (on_trial_complete)."""

    def journal_state(self, entry: HistoryEntry, result: dict) -> tuple[str, float | None, dict[int, float]]:
        """A run's one value is at its rung (its own budget_used is of its own, smaller budget, so
        no intermediate values): below the top rung it shows in the dashboard as PRUNED, its value
        an intermediate one at the rung's share of the budget (thousandths, as ASHA's)."""
        state, value, rung = entry.state, entry.value, getattr(entry, "rung", None)
        if entry.control or rung is None or rung == self.rungs - 1 or state != "COMPLETE":
            return state, value, {}
        return "PRUNED", None, {int(round(self.rung_budget(rung) / self.budget_epochs * STEP_SCALE)): value}

    def journal_attrs(self, entry: HistoryEntry, result: dict) -> dict[str, Any]:
        extra = {"rung": entry.rung, "point": entry.point} if isinstance(entry, RungEntry) else {}
        return {**super().journal_attrs(entry, result), **extra}

    def optuna_study(self):
        return optuna_study(self.history, self.mode, rungs=self.rungs)

    def get_state(self) -> dict:
        return {**super().get_state(), "budget_epochs": self.budget_epochs, "eta": self.eta, "rungs": self.rungs}

    def set_state(self, state: dict) -> None:
        super().set_state(state)
        self.budget_epochs, self.eta, self.rungs = state["budget_epochs"], state["eta"], state["rungs"]
