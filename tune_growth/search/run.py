"""Build and run (or resume) the Ray Tune search for a space; export its Parquet results."""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import ray
from ray import tune
from ray.tune.schedulers import FIFOScheduler

from tune_growth.cache import DEFAULT_CACHE_DIR
from tune_growth.data import DataSpec, ImageDataset
from tune_growth.io import atomic_write_text
from tune_growth.results.frontier import COSTS
from tune_growth.schedule.core import BUDGET_UNITS
from tune_growth.search.ladder import BudgetLadder
from tune_growth.search.mlflow_log import MlflowTrials
from tune_growth.search.progress import LiveProgress
from tune_growth.search.scheduler import PhaseAlignedASHA
from tune_growth.search.searcher import ScheduleSearcher
from tune_growth.search.spaces import Space
from tune_growth.search.tb_events import ExamplesTensorBoard
from tune_growth.search.trial import dataset_payload, run_settings, run_trial

# Early stopping: phase-aligned ASHA on partial runs (scheduler.py), successive halving over
# budgets with every run a complete schedule (ladder.py), or none; each with its default
# reduction factor.
STOPPING = {"asha": 2.0, "budgets": 3.0, "none": None}
# The CLI's default, from `python -m benchmarks search_efficiency` (README: Search efficiency): on
# the measured spaces, configurations differ by about the validation noise, and runs to the end
# found as good a schedule sooner, and chose better on test, than ASHA or budget rungs did.
DEFAULT_STOPPING = "none"
DEFAULT_CPUS_PER_TRIAL = 1.0
# What a search optimises: the metric at one budget (accuracy), or the metric and the run's cost,
# the budget searched too (frontier: searcher.py, results/frontier.py).
OBJECTIVES = ("accuracy", "frontier")
# A frontier search's budgets run log-uniform from budget / this to budget: 20 puts 1-20 epochs
# under a 20-epoch space, the span the issue asks of practitioners' "how cheap can it be".
DEFAULT_BUDGET_SPAN = 20.0
JOURNAL = "optuna.journal"  # in the experiment folder: `optuna-dashboard <experiment>/optuna.journal`
TENSORBOARD = "tensorboard"  # in the experiment folder: `tensorboard --logdir <experiment>/tensorboard`
# When the cluster has GPUs ("auto"): four trials share a GPU. The trainer keeps the data on the
# device and syncs only at records, and a ResNet-9-sized net at batch 128-1024 keeps a modern GPU
# busy only a fraction of the time (airbench needs batch 1024 and compile to fill an A100), so four
# concurrent trials finish a search sooner than one at a time; cluster.yaml's GPU worker has the
# 4 CPUs they need. `--gpus-per-trial 1` gives each its own.
DEFAULT_GPUS_PER_TRIAL = 0.25
# Parameters a growing space fixes that describe growth, not the run: left out of the baseline.
GROWTH_PREFIXES = ("h1_", "h2_", "h3_", "ft_", "stages", "early_share", "share_growth")
PROGRESS_COLUMNS = {"stage": "stage", "image_size": "px", "classes_seen": "cls", "examples": "examples",
                    "budget_used": "budget", "val_acc": "val acc", "status": "run"}
# Checkpoints are small and frequent (every stage end); Ray's warning about frequent experiment
# snapshots is noise here.
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")


def check_objective(objective: str, cost: str, stopping: str, budget_range: tuple[float, float]) -> None:
    """A ValueError naming the bad value unless the objective, its cost, the early stopping and
    (for a frontier search) the budget range fit together; the CLI calls it before Ray starts."""
    if objective not in OBJECTIVES or cost not in COSTS:
        raise ValueError(f"objective {objective!r} with cost {cost!r} is invalid; expected an objective in "
                         f"{', '.join(OBJECTIVES)} and a cost in {', '.join(COSTS)}")
    if objective != "frontier":
        return
    if stopping != "none":  # ASHA's rungs and budget rungs compare runs at one budget; a frontier's differ
        raise ValueError(f"--stopping {stopping} cannot stop a frontier search early (its trials differ in "
                         "budget); expected --stopping none")
    low, high = budget_range
    if not 0 < low < high:
        raise ValueError(f"--min-budget {low:g} is invalid; expected a budget in (0, {high:g}), below --budget "
                         "(the top of the range)")


def trial_dirname(trial) -> str:
    """Short trial folder names (Ray's default spells out the whole config)."""
    return f"trial_{trial.trial_id}"


@dataclass
class SearchOptions:
    """Everything a search needs beyond the space; the CLI fills it from flags."""

    space: Space
    num_trials: int
    budget_epochs: float
    concurrency: int
    cpus_per_trial: float
    gpus_per_trial: float
    storage: Path
    name: str
    seed: int = 0
    resume: bool = False
    stopping: str = DEFAULT_STOPPING
    sampler: str = "tpe"
    reduction_factor: float | None = None  # None: the stopping mode's default (STOPPING)
    rungs: int = 3  # budget rungs of stopping="budgets"
    evals: int = 20
    device: str = "auto"
    precision: str = "auto"
    cache_dir: str = DEFAULT_CACHE_DIR
    max_failures: int = 2
    verbose: int = 1  # 0: nothing; 1: a line when something changes (progress.py); 2: Ray's table
    fail_at_step: int = 0  # fault injection for the reliability tests (see trial.py)
    pretrained: str | None = None  # weights every trial starts from (a path every node can read)
    budget_unit: str = "epochs"  # what budget_epochs counts (schedule.core.BUDGET_UNITS)
    mlflow: str | None = None  # an MLflow tracking URI: every trial logged there too (mlflow_log.py)
    objective: str = "accuracy"  # OBJECTIVES
    cost: str = "compute"  # a frontier search's second objective (results.frontier.COSTS)
    min_budget: float | None = None  # a frontier search's lowest budget (None: budget / DEFAULT_BUDGET_SPAN)

    def __post_init__(self) -> None:
        if self.stopping not in STOPPING:
            raise ValueError(f"stopping {self.stopping!r} is invalid; expected one of {', '.join(STOPPING)}")
        check_objective(self.objective, self.cost, self.stopping, self.budget_range)
        if self.budget_unit not in BUDGET_UNITS:
            raise ValueError(f"budget unit {self.budget_unit!r} is invalid; expected one of {', '.join(BUDGET_UNITS)}")
        if self.reduction_factor is None:
            self.reduction_factor = STOPPING[self.stopping]

    @property
    def frontier(self) -> bool:
        return self.objective == "frontier"

    @property
    def budget_range(self) -> tuple[float, float]:
        """A frontier search's budgets, low to high, in budget epochs (its unit's)."""
        low = self.budget_epochs / DEFAULT_BUDGET_SPAN if self.min_budget is None else self.min_budget
        return low, self.budget_epochs

    @property
    def experiment_dir(self) -> Path:
        return self.storage / self.name

    @property
    def journal(self) -> Path:
        """The Optuna journal `optuna-dashboard` reads (searcher.py)."""
        return self.experiment_dir / JOURNAL

    def asha_rungs(self) -> tuple[float, ...]:
        """ASHA's rungs in budget used (fractions of the baseline's compute); none without ASHA."""
        if self.stopping != "asha":
            return ()
        rungs, r = [], self.space.phase_start
        while r <= 1.05:
            rungs.append(r)
            r *= self.reduction_factor
        return tuple(rungs)


def baseline_config(space: Space, budget_epochs: float, budget_unit: str = "epochs") -> dict:
    """The control every search carries first: the space's run-wide settings, one stage."""
    shared = {k: v for k, v in space.fixed.items() if not k.startswith(GROWTH_PREFIXES)}
    return {**shared, "hypothesis": "baseline", "budget_epochs": budget_epochs, "budget_unit": budget_unit}


def make_searcher(opts: SearchOptions) -> ScheduleSearcher:
    space, budget = opts.space, {"budget_epochs": opts.budget_epochs, "budget_unit": opts.budget_unit}
    args = (space.fn, {**space.fixed, **budget}, space.metric, space.mode)
    kwargs = dict(seed=opts.seed, lag=2 * opts.concurrency, sampler=opts.sampler,
                  baseline=baseline_config(space, **budget), journal=str(opts.journal), study_name=opts.name)
    if opts.frontier:  # the control runs at the top of the range; trials anywhere in it
        kwargs.update(frontier=opts.cost, budget_range=opts.budget_range)
    if opts.stopping == "budgets":
        return BudgetLadder(*args, budget_epochs=opts.budget_epochs, eta=opts.reduction_factor, rungs=opts.rungs,
                            **kwargs)
    return ScheduleSearcher(*args, **kwargs)


def make_scheduler(opts: SearchOptions):
    """Phase-aligned ASHA on compute (see search/scheduler.py), or FIFO: no run is cut short (no
    early stopping, or budget rungs, where every run is complete at its own budget)."""
    if opts.stopping != "asha":
        return FIFOScheduler()
    return PhaseAlignedASHA(time_attr="budget_used", max_t=1.05, grace_period=opts.space.phase_start,
                            reduction_factor=opts.reduction_factor, brackets=1, settle=opts.space.settle)


def make_trainable(opts: SearchOptions, data: ImageDataset):
    settings = run_settings(opts.space.model, opts.space.width, opts.device, opts.precision, opts.seed, opts.evals,
                            opts.cache_dir, threads=max(1, int(opts.cpus_per_trial)), fail_at_step=opts.fail_at_step,
                            pretrained=opts.pretrained)
    trainable = tune.with_parameters(run_trial, dataset=dataset_payload(data), run=settings)
    return tune.with_resources(trainable, {"cpu": opts.cpus_per_trial, "gpu": opts.gpus_per_trial})


def make_run_config(opts: SearchOptions) -> tune.RunConfig:
    """Ray's table every 15 s with verbose=2; with 1, a line when something changes (progress.py);
    TensorBoard event files always (tb_events.py)."""
    callbacks: list = [ExamplesTensorBoard(opts.experiment_dir / TENSORBOARD)]
    if opts.mlflow:
        callbacks.append(MlflowTrials(opts.mlflow, opts.name))
    reporter = None
    if opts.verbose >= 2:
        reporter = tune.CLIReporter(metric_columns=PROGRESS_COLUMNS, parameter_columns={"hypothesis": "hypothesis"},
                                    max_report_frequency=15, max_progress_rows=12, sort_by_metric=True)
    elif opts.verbose == 1:
        callbacks.append(LiveProgress(opts.num_trials, opts.space.metric, opts.asha_rungs(),
                                      budget_epochs=opts.budget_epochs if opts.stopping == "budgets" else None))
    return tune.RunConfig(name=opts.name, storage_path=str(opts.storage), progress_reporter=reporter,
                          verbose=1 if opts.verbose >= 2 else 0, callbacks=callbacks,
                          checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
                          failure_config=tune.FailureConfig(max_failures=opts.max_failures))


def init_ray(address: str | None, num_cpus: int | None = None) -> None:
    """Join a cluster (`address`, or RAY_ADDRESS), or start a local Ray sized to this machine."""
    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    # Trials print nothing useful; their errors reach the driver through Tune and error.txt.
    kwargs = dict(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    if address:
        ray.init(address=address, **kwargs)
    else:
        # "local": a Ray of its own, never another program's that happens to run on this machine
        ray.init(address="local", num_cpus=num_cpus or os.cpu_count(), **kwargs)


def default_resources(cpus_per_trial: float | None, gpus_per_trial: float | str | None) -> tuple[float, float, int]:
    """(cpus, gpus) per trial and how many trials fit at once in the cluster as it is now."""
    total = ray.cluster_resources()
    cpus = DEFAULT_CPUS_PER_TRIAL if cpus_per_trial is None else float(cpus_per_trial)
    if gpus_per_trial in (None, "auto"):
        gpus = DEFAULT_GPUS_PER_TRIAL if total.get("GPU", 0) > 0 else 0.0
    else:
        gpus = float(gpus_per_trial)
    fits = int(total.get("CPU", 1) // cpus) if cpus > 0 else 1
    if gpus > 0:
        fits = min(fits, int(math.floor(total.get("GPU", 0) / gpus)) or 1)
    return cpus, gpus, max(1, fits)


def describe_search(opts: SearchOptions, data_spec: DataSpec | None, fingerprint: str | None = None) -> dict:
    """What <experiment>/search.json records: enough to reload the dataset (its validation split
    and content fingerprint too) and the models later, and to re-run its schedules the same way."""
    sp = opts.space
    return {"space": sp.name, "space_path": str(sp.path), "hypothesis": sp.hypothesis, "metric": sp.metric,
            "mode": sp.mode, "dataset": asdict(data_spec) if data_spec else {"name": sp.dataset}, "data_fingerprint": fingerprint,
            "model": sp.model, "width": sp.width, "budget_epochs": opts.budget_epochs, "budget_unit": opts.budget_unit,
            "num_trials": opts.num_trials,
            "seed": opts.seed, "sampler": opts.sampler, "stopping": opts.stopping,
            "reduction_factor": opts.reduction_factor, "rungs": opts.rungs if opts.stopping == "budgets" else None,
            "phase_start": sp.phase_start,
            "settle": sp.settle, "concurrency": opts.concurrency, "pretrained": opts.pretrained,
            "precision": opts.precision, "evals": opts.evals, "selection_split": "val", "objective": opts.objective,
            "cost": opts.cost if opts.frontier else None,
            "budget_range": list(opts.budget_range) if opts.frontier else None}


def run_search(opts: SearchOptions, data: ImageDataset, data_spec: DataSpec | None = None) -> tune.ResultGrid:
    """Run the search (or continue it with `opts.resume`); Ray must be initialised."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the classic reporter shows our columns
    if not opts.resume:
        atomic_write_text(opts.experiment_dir / "search.json", json.dumps(describe_search(opts, data_spec, data.fingerprint),
                                                                               indent=2))
    trainable = make_trainable(opts, data)
    if opts.resume:
        tuner = tune.Tuner.restore(str(opts.experiment_dir), trainable=trainable, resume_unfinished=True,
                                   resume_errored=True)
    else:
        tuner = tune.Tuner(trainable, tune_config=tune.TuneConfig(
            metric=opts.space.metric, mode=opts.space.mode, search_alg=make_searcher(opts),
            scheduler=make_scheduler(opts), num_samples=opts.num_trials, max_concurrent_trials=opts.concurrency,
            reuse_actors=True, trial_dirname_creator=trial_dirname), run_config=make_run_config(opts))
    return tuner.fit()
