"""Optuna (TPE) behind Ray Tune's Searcher interface, done right for staged schedules.

- Trials stopped early by ASHA reach Optuna as PRUNED, with their intermediate values, not as
  COMPLETE with a low-fidelity score (Ray's OptunaSearch does the latter, misleading TPE);
  diverged and errored trials reach it as FAIL.
- The baseline control is the first trial of every search; it is not one of the space's points,
  so it is kept out of Optuna's history.
- Seeded and reproducible under concurrency: trial k is sampled by a sampler seeded with
  (seed, k) from the history of trials 0..k-lag-1 only, and waits (suggest returns None) until
  those have all finished. The same command and seed give the same sequence of configs
  whatever the timing; lag (default 2 x concurrency) keeps the wait rare.
- Its state saves as JSON (no pickle), so `--resume` continues the same sequence. That JSON stays
  the state: an Optuna storage cannot hold the lagged windows, the control or the per-trial
  seeds that make the sequence reproducible.
- Every finished trial is also appended to an Optuna journal (`journal`: a JournalFileBackend
  file in the experiment folder) as it finishes: parameters, state (COMPLETE / PRUNED / FAIL),
  intermediate values against budget used (in thousandths) and user attributes (trial id,
  hypothesis, schedule, control, rung), start and end times, and the metric's name, so
  `optuna-dashboard <journal>` shows the search live, its timeline included. The baseline control
  goes to a study of its own beside the search's (CONTROL_STUDY), so the dashboard's best trial is
  always a point of the space. The journal is written, never read: it is a view, not the state.
- A frontier search (`frontier`: a cost name of results.frontier.COSTS, and a `budget_range` in
  budget epochs) searches the budget too, log-uniform over the range (the parameter
  `budget_epochs`), and gives Optuna two objectives: the metric and the run's cost (minimised).
  TPE samples the two-objective space (Optuna's MOTPE, Ozaki et al. 2020); NSGA-II
  (`sampler="nsga2"`, population NSGA2_POPULATION) is there too; benchmarks/frontier.py's
  `--samplers` measures which finds the larger hypervolume. The journal's studies then have both
  directions and both metric names, so optuna-dashboard draws the Pareto front.
"""

from __future__ import annotations

import json
import warnings
from datetime import datetime
from typing import Any, Callable

import optuna
from optuna.distributions import distribution_to_json
from ray.tune.search import Searcher

from tune_growth.results.frontier import COSTS
from tune_growth.schedule.controls import is_control
from tune_growth.search.history import HistoryEntry, directions, optuna_study

SAMPLERS = ("tpe", "random", "nsga2")
BUDGET_PARAM = "budget_epochs"  # what a frontier search suggests beside the space's parameters
# NSGA-II keeps each trial's generation in its system attributes; the study rebuilt for each
# suggestion carries them, the i-th point of the space in generation i // population (what a
# sequential NSGA-II run assigns), or every suggestion would be generation 0: random sampling.
# A population of 8, TPE's startup trials, so that NSGA-II evolves within a schedule search's
# few dozen trials (Optuna's default, 50, would not leave its first generation).
NSGA2_POPULATION = 8
NSGA2_GENERATION = "NSGAIISampler:generation"
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # multivariate TPE
STEP_SCALE = 1000  # intermediate values are keyed by budget used in thousandths
CONTROL_STUDY = "{} (baseline control)"  # the journal study of a search's control, beside the search's own


class ScheduleSearcher(Searcher):
    """Suggests flat schedule parameters from a define-by-run Optuna space."""

    def __init__(self, space: Callable[[optuna.Trial], dict | None], fixed: dict[str, Any], metric: str, mode: str,
                 seed: int = 0, lag: int = 4, baseline: dict[str, Any] | None = None, sampler: str = "tpe",
                 fidelity: str = "budget_used", journal: str | None = None, study_name: str = "search",
                 frontier: str | None = None, budget_range: tuple[float, float] | None = None) -> None:
        super().__init__(metric=metric, mode=mode)
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler {sampler!r} is unknown; expected one of {', '.join(SAMPLERS)}")
        if frontier is not None and (frontier not in COSTS or budget_range is None):
            raise ValueError(f"frontier cost {frontier!r} needs a budget range and one of {', '.join(COSTS)}")
        self.frontier, self.budget_range = frontier, None if budget_range is None else tuple(budget_range)
        self.space, self.fixed, self.seed, self.lag = space, dict(fixed), seed, lag
        self.baseline, self.sampler, self.fidelity = baseline, sampler, fidelity
        self.history: list[HistoryEntry] = []  # one entry per suggested trial, in order
        self.by_trial: dict[str, int] = {}
        self.journal, self.study_name = journal, study_name
        self._journal_studies: dict[bool, optuna.Study] = {}  # control? -> its study, opened on first use; never pickled
        self._published: set[str] = set()  # trial ids already in the journal

    # --- suggesting -----------------------------------------------------------------------
    def _sampler(self, k: int) -> optuna.samplers.BaseSampler:
        seed = self.seed * 100_003 + k  # a fresh, distinct seed per trial number
        if self.sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if self.sampler == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed, population_size=NSGA2_POPULATION)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=8, multivariate=True)

    def suggest(self, trial_id: str) -> dict | None:
        k = len(self.history)
        if k == 0 and self.baseline is not None:
            return self._register(HistoryEntry(trial_id, {}, {}, {**self.baseline}, control=self._control(k)))
        window = self.history[: max(0, k - self.lag)]
        if any(e.state == "RUNNING" for e in window):
            return None  # wait for the lagged history to finish: keeps the sequence reproducible
        generations = (lambda i: {NSGA2_GENERATION: i // NSGA2_POPULATION}) if self.sampler == "nsga2" else None
        trial = optuna_study(window, self.mode, self._sampler(k), frontier=self.frontier is not None,
                             system_attrs=generations).ask()
        if self.frontier is not None:  # the budget first: a space's parameters never depend on it
            trial.suggest_float(BUDGET_PARAM, *self.budget_range, log=True)
        extra = self.space(trial) or {}
        params = dict(trial.params)
        dists = {name: distribution_to_json(d) for name, d in trial.distributions.items()}
        return self._register(HistoryEntry(trial_id, params, dists, {**self.fixed, **params, **extra}))

    def _control(self, k: int) -> bool:
        """Whether trial `k` is the search's control (the baseline injected first)."""
        return self.baseline is not None and is_control(self.baseline.get("hypothesis", "baseline"), trial_number=k)

    def _register(self, entry: HistoryEntry) -> dict:
        """Record a suggestion in the history; the config the trial receives."""
        self.by_trial[entry.trial_id] = len(self.history)
        self.history.append(entry)
        return entry.config

    # --- results --------------------------------------------------------------------------
    def on_trial_result(self, trial_id: str, result: dict) -> None:
        entry = self.history[self.by_trial[trial_id]]
        if self.metric in result and self.fidelity in result:
            entry.intermediate[str(int(round(result[self.fidelity] * STEP_SCALE)))] = float(result[self.metric])

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        entry = self.history[self.by_trial[trial_id]]
        if error or not result or result.get("status") == "diverged" or self.metric not in result:
            entry.state = "FAIL"
        elif result.get("finished"):
            entry.state, entry.value = "COMPLETE", float(result[self.metric])
            if self.frontier is not None:
                entry.cost = float(result[COSTS[self.frontier]])
        else:
            entry.state = "PRUNED"  # stopped by the scheduler before its schedule finished
        self._publish(entry, result or {})

    # --- the dashboard's journal ----------------------------------------------------------
    def journal_study(self, control: bool = False) -> optuna.Study:
        """The journal's study of the space's points, or (`control`) of the baseline control beside
        it (CONTROL_STUDY), so the dashboard's best trial is always a point of the space; created on
        first use with the metric's name (a resumed search appends to them)."""
        if control not in self._journal_studies:
            from optuna.storages import JournalStorage
            from optuna.storages.journal import JournalFileBackend

            storage = JournalStorage(JournalFileBackend(str(self.journal)))
            name = CONTROL_STUDY.format(self.study_name) if control else self.study_name
            study = optuna.create_study(storage=storage, study_name=name, load_if_exists=True,
                                        directions=directions(self.mode, self.frontier is not None))
            if study.metric_names is None:
                with warnings.catch_warnings():  # experimental since Optuna 3.2, and what the dashboard reads
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    study.set_metric_names(self.metric_names())  # "val_acc", not "Objective 0"
            self._journal_studies[control] = study
            # a resumed search may report a trial again that finished after Tune's last snapshot
            self._published |= {t.user_attrs.get("trial_id") for t in study.trials}
        return self._journal_studies[control]

    def metric_names(self) -> list[str]:
        """The objectives' names: the metric, then a frontier search's cost column."""
        return [self.metric] + ([COSTS[self.frontier]] if self.frontier is not None else [])

    def journal_state(self, entry: HistoryEntry, result: dict) -> tuple[str, float | None, dict[int, float]]:
        """The state, value and intermediate values a finished entry shows in the dashboard: its
        reported values, and the record that ended it (Tune passes the result a scheduler stops on
        to on_trial_complete only, not to on_trial_result)."""
        intermediate = {int(k): v for k, v in entry.intermediate.items()}
        if self.metric in result and self.fidelity in result:
            intermediate[int(round(result[self.fidelity] * STEP_SCALE))] = float(result[self.metric])
        return entry.state, entry.value, intermediate

    def journal_attrs(self, entry: HistoryEntry, result: dict) -> dict[str, Any]:
        """The user attributes a finished entry shows in the dashboard (a subclass adds its own)."""
        return {"trial_id": entry.trial_id, "hypothesis": entry.config.get("hypothesis"),
                "schedule": result.get("schedule"), "control": entry.control, "status": result.get("status")}

    def _publish(self, entry: HistoryEntry, result: dict) -> None:
        if not self.journal:
            return
        study = self.journal_study(control=entry.control)
        self.journal_study(control=not entry.control)  # both open: a resumed search knows what either holds
        if entry.trial_id in self._published:
            return
        self._published.add(entry.trial_id)
        from optuna.distributions import json_to_distribution

        state, value, intermediate = self.journal_state(entry, result)
        attrs = self.journal_attrs(entry, result)
        done, frontier = state == "COMPLETE", self.frontier is not None
        trial = optuna.trial.create_trial(
            state=optuna.trial.TrialState[state], value=value if done and not frontier else None,
            values=[value, entry.cost] if done and frontier else None,
            params=entry.params, distributions={k: json_to_distribution(v) for k, v in entry.distributions.items()},
            intermediate_values=intermediate, user_attrs={k: v for k, v in attrs.items() if v is not None})
        if result.get("started_at") is not None and result.get("reported_at") is not None:  # the dashboard's timeline
            trial.datetime_start = datetime.fromtimestamp(result["started_at"])
            trial.datetime_complete = datetime.fromtimestamp(max(result["reported_at"], result["started_at"]))
        study.add_trial(trial)

    def __getstate__(self) -> dict:  # Tune pickles its searcher with the experiment; a storage does not pickle
        return {**self.__dict__, "_journal_studies": {}, "_published": set()}

    def __setstate__(self, state: dict) -> None:
        """Unpickled (a resumed search): the journal's studies reopen on first use. A searcher pickled
        before the control had a study of its own carried one `_journal_study`; it is dropped."""
        state = {"frontier": None, "budget_range": None,  # pickled before frontier searches
                 **{k: v for k, v in state.items() if k != "_journal_study"}}
        self.__dict__.update({**state, "_journal_studies": {}, "_published": set()})

    def optuna_study(self) -> optuna.Study:
        """The space's finished trials as an Optuna study (for optuna.importance and plots)."""
        return optuna_study(self.history, self.mode, frontier=self.frontier is not None)

    # --- state --------------------------------------------------------------------------
    def set_max_concurrency(self, max_concurrent: int) -> bool:
        return False  # Ray's ConcurrencyLimiter does the limiting; lag is set by the caller

    def get_state(self) -> dict:
        return {"history": [e.to_dict() for e in self.history], "seed": self.seed, "lag": self.lag, "sampler": self.sampler,
                "fixed": self.fixed, "baseline": self.baseline, "metric": self.metric, "mode": self.mode,
                "frontier": self.frontier, "budget_range": self.budget_range}

    def set_state(self, state: dict) -> None:
        self.history = [HistoryEntry.from_dict(e) for e in state["history"]]
        self.by_trial = {e.trial_id: i for i, e in enumerate(self.history)}
        self.seed, self.lag, self.sampler = state["seed"], state["lag"], state["sampler"]
        self.fixed, self.baseline = state["fixed"], state["baseline"]
        self.frontier = state.get("frontier")  # states saved before frontier searches have neither
        self.budget_range = None if state.get("budget_range") is None else tuple(state["budget_range"])

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "w") as f:
            json.dump(self.get_state(), f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path) as f:
            self.set_state(json.load(f))
