"""The study's settings as one frozen value, built once from the command line with the searches'
own settings (their search.json) filling what the flags leave unset; `collect`, the runner and
the outputs read it, nothing changes it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tune_growth.cli import parse_gpus, tracking_uri
from tune_growth.data import DataSpec
from tune_growth.results.load import experiments
from tune_growth.study import RUNS_LOG
from tune_growth.train.config import RunConfig

# --controls beside the baseline; anti: every anti-curriculum; equal_compute: the baseline at the
# compute of each schedule that shrinks images
CONTROL_CHOICES = ("random_growing", "random_classes", "anti", "budgeted", "equal_compute")
# What a study trains with when neither a flag nor the searches say
STUDY_DEFAULTS = {"model": "lenet5", "width": 1.0, "precision": "auto", "pretrained": None}


@dataclass(frozen=True)
class StudyConfig:
    """What to study (searched schedules under `results`, schedule files, builders' defaults of
    `hypotheses` with `sets` overrides), on which data and model, at which budgets (epochs; one
    `budget`, else a sweep of `budgets`, else the baseline's), over how many seeds, beside which
    controls, with what each run asks of Ray (`gpus_per_run` None: one each where the cluster has
    GPUs), and where the outputs go."""

    data: DataSpec
    model: str
    width: float
    precision: str
    pretrained: str | None = None
    results: Path | None = None
    schedules: tuple[Path, ...] = ()
    hypotheses: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    budget: float | None = None
    budgets: tuple[float, ...] = ()
    budget_unit: str | None = None  # what the budgets count (schedule.core.BUDGET_UNITS); None: the baseline's
    per_budget: bool = False  # each budget's schedules from the searches at that budget (choose.py)
    reselect: int = 0  # re-choose among each search's top `reselect` trials over fresh seeds (0: off)
    reselect_seeds: int = 3
    mlflow: str | None = None  # an MLflow tracking URI: every run logged there too
    seeds: int = 5
    targets: tuple[float, ...] = ()
    evals: int = 40
    out: Path = Path("results/study")
    resume: bool = False
    controls: tuple[str, ...] = CONTROL_CHOICES
    cpus_per_run: float = 1.0
    gpus_per_run: float | None = None
    address: str | None = None
    num_cpus: int | None = None

    def run_config(self) -> RunConfig:
        """How every run trains: the study reports, so each run monitors the test split."""
        return RunConfig(model=self.model, width=self.width, device="auto", evals=self.evals, precision=self.precision,
                         pretrained=self.pretrained, monitor="test")

    @property
    def title(self) -> str:
        noise = f", label noise {self.data.label_noise:g}" if self.data.label_noise else ""
        return f"{self.data.name}, {self.model}, {self.seeds} seeds{noise}"


def search_settings(results: Path | None) -> dict:
    """The settings the searches under `results` share (their search.json): the dataset spec, model,
    width, precision and pretrained weights. {} without --results; a one-line error when the
    searches disagree, since one study compares them on one footing."""
    if results is None:
        return {}
    found: dict[str, dict] = {}
    for exp in experiments(results):
        path = exp / "search.json"
        if path.is_file():
            s = json.loads(path.read_text())
            # fields added since: their defaults; the root as the search records it now (absolute)
            dataset = s.get("dataset") and asdict(DataSpec(**s["dataset"]).absolute())
            if dataset and dataset["classes"] is not None:
                dataset["classes"] = list(dataset["classes"])
            found[exp.name] = {"dataset": dataset, "model": s.get("model"), "width": s.get("width"),
                               "precision": s.get("precision", "auto"), "pretrained": s.get("pretrained")}
    if not found:
        return {}
    first_name, first = next(iter(found.items()))
    for name, other in found.items():
        for key in first:
            if other[key] != first[key]:
                raise ValueError(f"searches {first_name!r} and {name!r} differ in {key} ({first[key]!r} vs "
                                 f"{other[key]!r}); expected searches run on one footing")
    return first


def resolve_settings(args) -> tuple[DataSpec, dict]:
    """The dataset spec every run uses and the run settings (model, width, precision, pretrained):
    the flags where given, else the searches' (search.json), else STUDY_DEFAULTS."""
    searched = search_settings(args.results)
    settings = {key: getattr(args, key) if getattr(args, key) is not None else searched.get(key, default)
                for key, default in STUDY_DEFAULTS.items()}
    spec = DataSpec(**searched["dataset"]) if searched.get("dataset") else DataSpec()
    overrides = {k: v for k, v in (("name", args.dataset), ("root", args.data_root),
                                   ("val_fraction", args.val_fraction),
                                   ("label_noise", args.label_noise)) if v is not None}
    spec = replace(spec, **overrides)
    if isinstance(spec.classes, list):
        spec = replace(spec, classes=tuple(spec.classes))
    return spec, settings


def check_flags(args) -> None:
    """The flags' ranges and combinations, each refused in one line naming the value."""
    if args.budgets and not all(b > 0 for b in args.budgets):
        raise ValueError(f"--budgets {' '.join(f'{b:g}' for b in args.budgets)} are invalid; expected positive "
                         "numbers of epochs, e.g. 2 5 10 20")
    if args.budgets and args.budget is not None:
        raise ValueError(f"--budget {args.budget:g} and --budgets are both given; expected one of them")
    if (args.out / RUNS_LOG).is_file() and not args.resume:
        raise ValueError(f"--out {str(args.out)!r} holds a study ({RUNS_LOG}); pass --resume to continue it or "
                         "another --out")
    if args.results is not None and not args.results.is_dir():
        raise ValueError(f"--results {str(args.results)!r} is not a folder; expected a searches' results folder")
    if (args.per_budget or args.reselect) and args.results is None:
        raise ValueError(f"{'--per-budget' if args.per_budget else f'--reselect {args.reselect}'} chooses among "
                         "searched trials; expected --results DIR with it")
    if args.per_budget and args.budget is not None:
        raise ValueError(f"--budget {args.budget:g} and --per-budget are both given; expected --budgets (a subset of "
                         "the searched budgets) or none")
    if args.targets and not all(0 < t <= 1 for t in args.targets):
        raise ValueError(f"--targets {args.targets} are invalid; expected accuracies in (0, 1]")


def study_config(args) -> StudyConfig:
    """The study's settings from parsed flags (one-line ValueError on a bad one), the searches'
    search.json merged in."""
    check_flags(args)
    gpus = parse_gpus("--gpus-per-run", args.gpus_per_run, args.address)
    spec, settings = resolve_settings(args)
    return StudyConfig(
        data=spec, **settings, results=args.results, schedules=tuple(args.schedule), hypotheses=tuple(args.hypotheses),
        sets=tuple(args.set), budget=args.budget, budgets=tuple(args.budgets or ()), budget_unit=args.budget_unit,
        per_budget=args.per_budget, reselect=args.reselect, reselect_seeds=args.reselect_seeds, seeds=args.seeds,
        mlflow=tracking_uri(args.mlflow, args.out),
        targets=tuple(args.targets or ()), evals=args.evals, out=args.out, resume=args.resume,
        controls=() if args.no_controls else tuple(args.controls), cpus_per_run=args.cpus_per_run, gpus_per_run=gpus,
        address=args.address, num_cpus=args.num_cpus)
