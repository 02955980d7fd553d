"""`python -m tune_growth.search SPACE`: search stage schedules with Ray Tune + Optuna (TPE), ASHA or budget rungs.

SPACE is a shipped space (search_spaces/: baseline, h1, h2, h3, combined, random_growing, anti_h2,
finetune) or a path to a space file. With no cluster it starts a local Ray sized to this machine;
with --address (or RAY_ADDRESS) it joins one. Everything is validated before Ray starts; bad input exits with
code 2 and a one-line message. Results: <storage>/<name>/trials.parquet and metrics.parquet.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from tune_growth.cache import DEFAULT_CACHE_DIR
from tune_growth.cli import (
    OneLineParser,
    add_budget_unit,
    budget_words,
    checked,
    count,
    fail,
    importable_here,
    label_noise,
    parse_gpus,
    positive,
    tracking_uri,
    width,
)
from tune_growth.data import DATASETS, DatasetError, DataSpec, load_dataset, parse_classes
from tune_growth.models.groups import frozen_count, group_names
from tune_growth.models.pretrained import IMAGENET, load_pretrained
from tune_growth.models.registry import IMPORT_SEP, MODELS, build_model, check_model_name
from tune_growth.results.frontier import COSTS
from tune_growth.schedule.builders import build_schedule
from tune_growth.schedule.core import BUDGET_UNITS, ScheduleError
from tune_growth.search import spaces
from tune_growth.search.run import (
    DEFAULT_BUDGET_SPAN,
    DEFAULT_STOPPING,
    OBJECTIVES,
    STOPPING,
    TENSORBOARD,
    check_objective,
)
from tune_growth.search.searcher import SAMPLERS
from tune_growth.search.summary import summarize
from tune_growth.train.device import PRECISIONS


def parser() -> OneLineParser:
    p = OneLineParser(prog="python -m tune_growth.search", description=__doc__.splitlines()[0])
    p.add_argument("space", help=f"search space: {', '.join(spaces.available())}, or a path to a .py file")
    p.add_argument("--dataset", choices=sorted(DATASETS), help="dataset (default: the space's, mnist5k)")
    p.add_argument("--data-root", help="folder holding the dataset's files")
    p.add_argument("--image-size", type=count("--image-size"), metavar="PX",
                   help="decode size in px for image folders (folder, imagenette; default 64)")
    p.add_argument("--classes", help="keep only these class ids, e.g. 0-4 or 0,2,5-7 (relabelled 0..k-1)")
    p.add_argument("--val-fraction", default=0.1,
                   type=checked("--val-fraction", float, lambda v: 0 < v < 1,
                                "a fraction in (0, 1), e.g. 0.1: a search selects on the validation split, never on test"),
                   help="share of each class's training examples held out as the validation split that the "
                        "search selects on (default 0.1; seeded and stratified, the same on every machine)")
    p.add_argument("--label-noise", type=label_noise(), default=0.0, metavar="P",
                   help="a fraction of the training labels replaced by another class (seeded; validation and "
                        "test untouched), e.g. 0.2")
    p.add_argument("--pretrained", metavar="PATH",
                   help="weights every trial starts from (all but the head): a model.pt of tune_growth.train.cli, a "
                        "torchvision resnet state dict, or 'imagenet'; on a cluster, a path every node can read")
    p.add_argument("--model", type=importable_here(check_model_name), metavar="MODEL",
                   help=f"a registered model ({', '.join(sorted(MODELS))}) or your own, package.module:factory "
                        "(default: the space's)")
    p.add_argument("--width", type=width(), help="model channel multiplier (default: the space's)")
    p.add_argument("--trials", type=count("--trials"), help="number of trials, the baseline control included (default: the space's)")
    p.add_argument("--budget", type=positive("--budget", "a positive number of epochs"),
                   help="epochs of the full training set per trial (default: the space's; see --budget-unit)")
    add_budget_unit(p, BUDGET_UNITS)
    add_objective(p)
    p.add_argument("--mlflow", nargs="?", const="", metavar="URI",
                   help="log every trial to MLflow too (default URI: sqlite:///STORAGE/mlflow.db; needs "
                        "pip install -e '.[mlflow]'); open it with mlflow ui --backend-store-uri URI")
    p.add_argument("--concurrency", type=count("--concurrency"), help="trials at once (default: as many as the resources fit)")
    p.add_argument("--cpus-per-trial", type=positive("--cpus-per-trial"), help="CPUs per trial (default 1)")
    p.add_argument("--gpus-per-trial", help="GPUs per trial, fractions share one (default: 0.25 if the cluster has GPUs, else 0)")
    p.add_argument("--num-cpus", type=count("--num-cpus"), help="CPUs of the local Ray (default: all of this machine)")
    p.add_argument("--storage", type=Path, default=Path("results"), help="results folder (default ./results)")
    p.add_argument("--name", help="experiment name (default SPACE_DATASET_MODEL_sSEED)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted experiment of this name")
    p.add_argument("--address", help="Ray cluster address, e.g. auto (default: RAY_ADDRESS, else a local Ray)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler and of every trial")
    p.add_argument("--sampler", choices=SAMPLERS, default="tpe", help="Optuna sampler")
    p.add_argument("--stopping", choices=STOPPING, default=DEFAULT_STOPPING,
                   help="early stopping: phase-aligned ASHA on partial runs, successive halving over budgets "
                        f"(every run a complete schedule), or none (default {DEFAULT_STOPPING}: what the "
                        "search_efficiency benchmark measured best)")
    p.add_argument("--no-asha", action="store_true", help="the same as --stopping none")
    p.add_argument("--reduction-factor", type=checked("--reduction-factor", float, lambda v: v > 1, "a number > 1"),
                   help="keep the best 1/factor at each rung (default: 2 for asha, "
                                                          "3 for budgets)")
    p.add_argument("--rungs", type=count("--rungs"), default=3, help="budget rungs of --stopping budgets (3 with factor 3: 1/9, "
                                                        "1/3 and all of the budget)")
    p.add_argument("--evals", type=count("--evals"), default=20, help="evaluations per trial, spread over its budget")
    p.add_argument("--precision", choices=PRECISIONS, default="auto", help="autocast precision")
    p.add_argument("--verbose", action="store_true", help="Ray Tune's full trial table every 15 s instead of a line "
                                                          "whenever a trial starts, reaches a rung or ends")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        parse_gpus("--gpus-per-trial", args.gpus_per_trial, args.address)
        space = spaces.load(args.space)
        space = at_budgets(space, args)
        dataset, model = args.dataset or space.dataset, args.model or space.model
        noise = f"_noise{args.label_noise:g}" if args.label_noise else ""
        unit = args.budget_unit or "epochs"
        per = "_compute" if unit == "compute" else ""  # a compute budget's search is named apart
        per += f"_frontier_{args.cost}" if args.objective == "frontier" else ""
        name = args.name or f"{space.name}_{dataset}_{model.replace(IMPORT_SEP, '.')}{noise}{per}_s{args.seed}"
        storage = args.storage.expanduser().resolve()
        if (storage / name).exists() and not args.resume:
            raise ValueError(f"experiment {str(storage / name)!r} exists; pass --resume to continue it or --name for a new one")
        if args.resume and not (storage / name).is_dir():
            raise ValueError(f"--resume: no experiment at {str(storage / name)!r}; expected an earlier run's folder")
        tracking = tracking_uri(args.mlflow, storage)
        classes = None if args.classes is None else parse_classes(args.classes)
        data_spec = DataSpec(dataset, args.data_root, image_size=args.image_size, classes=classes,
                             val_fraction=args.val_fraction, label_noise=args.label_noise).absolute()  # the study rereads it
        data = load_dataset(data_spec)
        pretrained = args.pretrained
        if pretrained is not None:  # load once here: a wrong file is a one-line error, not N failed trials
            pretrained = pretrained if pretrained == IMAGENET else str(Path(pretrained).expanduser().resolve())
            load_pretrained(build_model(model, data.channels, data.num_classes, args.width or space.width), model,
                            pretrained)
        elif space.hypothesis == "finetune":
            print(f"warning: {space.name} fine-tunes, but no --pretrained was given: the body starts from random "
                  "weights", file=sys.stderr)
        dry_run(space, data, model, args.width or space.width, unit, args.seed)
    except (spaces.SpaceError, DatasetError, ScheduleError, ValueError) as err:
        return fail(str(err))

    from tune_growth.search.run import SearchOptions, default_resources, init_ray, run_search

    space = replace(space, dataset=dataset, model=model, width=args.width or space.width)
    init_ray(args.address, args.num_cpus)
    cpus, gpus, fits = default_resources(args.cpus_per_trial, args.gpus_per_trial)
    opts = SearchOptions(space, args.trials or space.num_trials, args.budget or space.budget_epochs,
                         args.concurrency or fits, cpus, gpus, storage, name, seed=args.seed, resume=args.resume,
                         stopping="none" if args.no_asha else args.stopping, sampler=args.sampler,
                         reduction_factor=args.reduction_factor, rungs=args.rungs,
                         evals=args.evals, precision=args.precision, pretrained=pretrained,
                         verbose=2 if args.verbose else 1, budget_unit=unit, mlflow=tracking,
                         objective=args.objective, cost=args.cost, min_budget=args.min_budget)
    print(plan(opts), flush=True)
    print(f"watch it: optuna-dashboard {opts.journal} | tensorboard --logdir {opts.experiment_dir / TENSORBOARD}",
          flush=True)
    run_search(opts, data, data_spec)
    print(summarize(opts.experiment_dir, space.metric, space.mode), flush=True)
    return 0


def add_objective(p: OneLineParser) -> None:
    """--objective, --cost and --min-budget: a search at one budget, or the accuracy-cost front."""
    p.add_argument("--objective", choices=OBJECTIVES, default="accuracy",
                   help="accuracy (default): the most accurate schedule at --budget; frontier: the accuracy-cost "
                        "front, the budget searched too (log-uniform from --min-budget to --budget)")
    p.add_argument("--cost", choices=COSTS, default="compute",
                   help="a frontier's cost: compute (examples x pixels, the same on every machine; default) or "
                        "seconds (training time on the trial's device)")
    p.add_argument("--min-budget", type=positive("--min-budget", "a positive budget below --budget"),
                   help=f"a frontier's lowest budget (default: --budget / {DEFAULT_BUDGET_SPAN:g})")


def at_budgets(space, args):
    """The space at the budget it runs at, its bounds checked at every budget the search runs
    (a frontier's lowest too: frozen phases are counted in epochs); the objective's flags checked."""
    budget = args.budget or space.budget_epochs
    low = (args.min_budget or budget / DEFAULT_BUDGET_SPAN) if args.objective == "frontier" else budget
    if args.min_budget is not None and args.objective != "frontier":
        raise ValueError(f"--min-budget {args.min_budget:g} needs --objective frontier (a search at one budget "
                         "runs --budget only)")
    check_objective(args.objective, args.cost, "none" if args.no_asha else args.stopping, (low, budget))
    if args.budget is None and low == budget:
        return space
    spaces.check(replace(space, budget_epochs=low))
    space = replace(space, budget_epochs=budget)
    spaces.check(space)
    return space


def dry_run(space, data, model: str, width: float, unit: str, seed: int) -> None:
    """One draw of the space, built into a schedule for this dataset and model: bad values are a
    one-line error here, before Ray starts, not N failed trials."""
    import optuna
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed)).ask()
    schedule = build_schedule({**space.fixed, **(space.fn(trial) or {}), **trial.params, "budget_unit": unit,
                               "budget_epochs": space.budget_epochs}, data, DEFAULT_CACHE_DIR)
    if any(stage.freeze_to for stage in schedule.stages):  # a one-group model cannot freeze
        n_groups = len(group_names(build_model(model, data.channels, data.num_classes, width)))
        for stage in schedule.stages:
            frozen_count(stage.freeze_to, n_groups, f"model {model!r}")


def plan(opts) -> str:
    """What the search will run, said up front."""
    sp = opts.space
    if opts.stopping == "asha":
        rungs = ", ".join(f"{r:.2g}" for r in opts.asha_rungs())
        stopping = f"ASHA on compute, rungs at {rungs} of the baseline's compute"
    elif opts.stopping == "budgets":
        eta = opts.reduction_factor
        budgets = [f"{opts.budget_epochs / eta ** (opts.rungs - 1 - r):.3g}" for r in range(opts.rungs)]
        stopping = (f"successive halving over budgets: complete runs at {', '.join(budgets)} "
                    f"{budget_words(opts.budget_unit)}, the best "
                    f"1/{opts.reduction_factor:g} promoted")
    else:
        stopping = "no early stopping"
    if opts.stopping == "budgets":
        runs = f"{opts.num_trials} runs (the baseline control first; a promotion is a run), up to"
    elif opts.frontier:
        low, high = opts.budget_range
        runs = (f"{opts.num_trials} trials for the front of val accuracy against {opts.cost} (the baseline control "
                f"first, at the top budget), {low:g} to")
    else:
        runs = f"{opts.num_trials} trials (the baseline control first),"
    return (f"{'Resuming' if opts.resume else 'Searching'} {sp.name} ({sp.hypothesis}) on {sp.dataset} "
            f"with {sp.model}: "
            f"{runs} {opts.budget_epochs:g} {budget_words(opts.budget_unit)} each, "
            f"{opts.concurrency} at a time ({opts.cpus_per_trial:g} CPU, {opts.gpus_per_trial:g} GPU each); "
            f"{opts.sampler.upper()} seed {opts.seed}; {stopping}; results in {opts.experiment_dir}")

if __name__ == "__main__":
    sys.exit(main())
