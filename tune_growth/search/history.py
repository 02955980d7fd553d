"""The searcher's history: one typed record per suggested trial, and its bridge to Optuna.

`HistoryEntry` is what the searcher (searcher.py) keeps for every trial it suggests, in order;
the budget ladder (ladder.py) extends it with the run's rung and the configuration it belongs to
(`RungEntry`). The history saves as JSON (the searcher's state file, which `--resume` and the
Parquet export read), so each record converts to and from a plain dict with stable keys.
`optuna_study` turns the space's finished trials into an Optuna study, for the sampler's next
suggestion and for optuna.importance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

import optuna
from optuna.distributions import json_to_distribution


@dataclass
class HistoryEntry:
    """One suggested trial. `params` and `distributions` (Optuna's, as JSON) are the space's point
    (empty for the control); `config` is what the trial receives; `intermediate` maps fidelity
    (budget used, thousandths) to the metric; `value` is set once the trial is COMPLETE, and in a
    frontier search `cost` too, its second objective (results.frontier.COSTS)."""

    trial_id: str
    params: dict[str, Any]
    distributions: dict[str, str]
    config: dict[str, Any]
    control: bool = False
    state: str = "RUNNING"
    value: float | None = None
    intermediate: dict[str, float] = field(default_factory=dict)
    cost: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(entry: dict[str, Any]) -> HistoryEntry:
        """The record a saved state holds: a RungEntry where it has a rung, else a HistoryEntry.
        States saved before the ladder's fields left the trial config carry them there too."""
        if "rung" in entry:
            return RungEntry(**entry)
        return HistoryEntry(**entry)


@dataclass
class RungEntry(HistoryEntry):
    """A budget-ladder run: its configuration's `point` (the trial number of its rung-0 run) and
    its `rung` (0 first; the control runs at the top rung)."""

    point: int = 0
    rung: int = 0


def frozen_trial(entry: HistoryEntry, frontier: bool = False,
                 system_attrs: dict[str, Any] | None = None) -> optuna.trial.FrozenTrial:
    """One history entry as an Optuna FrozenTrial; in a `frontier` study its values are
    (metric, cost); `system_attrs` are a sampler's own bookkeeping."""
    state = optuna.trial.TrialState[entry.state]
    done = state == optuna.trial.TrialState.COMPLETE
    return optuna.trial.create_trial(
        state=state, value=entry.value if done and not frontier else None,
        values=[entry.value, entry.cost] if done and frontier else None,
        params=entry.params, distributions={k: json_to_distribution(v) for k, v in entry.distributions.items()},
        intermediate_values={int(s): v for s, v in entry.intermediate.items()}, system_attrs=system_attrs)


def ladder_points(history: list[HistoryEntry], rungs: int | None = None) -> list[HistoryEntry]:
    """A budget-ladder search's history (one entry per run, runs of one configuration sharing a
    `point`) as one entry per configuration: COMPLETE with its value at the top rung (`rungs` - 1)
    once it ran there; FAIL if a run of it failed; RUNNING while one runs; else PRUNED, its value
    at each rung it finished as intermediate values keyed by the rung. Entries without a point
    (other searches, the control) pass unchanged."""
    groups: dict[int, list[RungEntry]] = {}
    out: list[HistoryEntry | list[RungEntry]] = []
    for entry in history:
        if entry.control or not isinstance(entry, RungEntry):
            out.append(entry)
        else:
            if entry.point not in groups:
                groups[entry.point] = []
                out.append(groups[entry.point])  # a placeholder, filled below, in first-run order
            groups[entry.point].append(entry)
    return [e if isinstance(e, HistoryEntry) else _point(e, rungs) for e in out]


def _point(runs: list[RungEntry], rungs: int | None) -> RungEntry:
    first = runs[0]
    # states saved before the ladder's fields left the trial config: the rung count is there
    top = (rungs if rungs is not None else first.config["rungs"]) - 1
    states = {r.state for r in runs}
    done = {r.rung: r.value for r in runs if r.state == "COMPLETE"}
    state = ("RUNNING" if "RUNNING" in states else "COMPLETE" if top in done else "FAIL" if "FAIL" in states
             else "PRUNED")
    return replace(first, control=False, state=state, value=done.get(top) if state == "COMPLETE" else None,
                   intermediate={str(r): v for r, v in done.items()}, rung=max(r.rung for r in runs))


def directions(mode: str, frontier: bool = False) -> list[str]:
    """Optuna's directions: the metric's, then, in a frontier search, the cost's (minimised)."""
    return ["maximize" if mode == "max" else "minimize"] + (["minimize"] if frontier else [])


def optuna_study(history: list[HistoryEntry], mode: str, sampler: optuna.samplers.BaseSampler | None = None,
                 rungs: int | None = None, frontier: bool = False,
                 system_attrs: Callable[[int], dict[str, Any]] | None = None) -> optuna.Study:
    """The space's finished trials (controls left out) as an Optuna study, e.g. for
    optuna.importance; a `frontier` study has two objectives (the metric, then the cost).
    `sampler` seeds what the study will suggest next, if anything; `system_attrs(i)` is the
    sampler's bookkeeping for the i-th point (in suggestion order), where it keeps some."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=directions(mode, frontier), sampler=sampler)
    points = [e for e in ladder_points(history, rungs) if not e.control]
    attrs = system_attrs or (lambda i: None)
    study.add_trials([frozen_trial(e, frontier, attrs(i)) for i, e in enumerate(points) if e.state != "RUNNING"])
    return study
