"""`python -m tune_growth.study --results results`: does growing the training problem make
training faster? The best schedule of each hypothesis (from the searches' Parquet results, chosen
on validation accuracy, or JSON files) is re-run over several seeds on Ray beside fair controls at
the same model and budget: the tuned baseline, the random-order growing set, the anti-curriculum
and the budgeted baseline. Every run trains on the searches' training part (the same validation
split held out) and is measured on the test split. Dataset, validation split, model, precision
and pretrained weights default to the searches' (their search.json). Writes runs.parquet,
effects.parquet, study.md, PNGs and study.html; prints the verdicts.

`--budgets 2 5 10 20` runs every schedule and control at each budget (each schedule's stage shares
scale with it) and reports the effects per budget. Every finished run is kept in OUT/runs.jsonl;
`--resume` continues a study from it, running only what is missing.
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
    positive,
    width,
)
from tune_growth.data import DATASETS, DatasetError, ImageDataset, load_dataset
from tune_growth.models.registry import MODELS, check_model_name
from tune_growth.schedule.builders import HYPOTHESES, build_schedule, parse_sets
from tune_growth.schedule.controls import AT_COMPUTE, is_control
from tune_growth.schedule.core import BUDGET_UNITS, Schedule, ScheduleError, Stage
from tune_growth.study import choose, controls
from tune_growth.study.config import CONTROL_CHOICES, StudyConfig, study_config
from tune_growth.study.stats import seed_warning
from tune_growth.train.device import PRECISIONS


def parser() -> OneLineParser:
    p = OneLineParser(prog="python -m tune_growth.study", description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, help="searches' results folder: the best completed schedule per hypothesis")
    p.add_argument("--schedule", type=Path, action="append", default=[], help="a schedule JSON file (repeatable)")
    p.add_argument("--hypotheses", nargs="+", default=[], metavar="NAME",
                   help=f"the builders' default schedule of each, built on the study's dataset (no JSON needed): "
                        f"{', '.join(h for h in HYPOTHESES if h != 'baseline')}")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a builder parameter for the --hypotheses schedules, e.g. --set stages=4 (repeatable)")
    p.add_argument("--dataset", choices=sorted(DATASETS), help="dataset (default: the searches', else mnist5k)")
    p.add_argument("--data-root", help="folder holding the dataset's files (default: the searches')")
    p.add_argument("--val-fraction", type=float,
                   help="validation share held out of training, as in the searches (default: theirs, else 0.1)")
    p.add_argument("--label-noise", type=float, metavar="P",
                   help="a fraction of the training labels replaced by another class (seeded; validation and test "
                        "untouched; default: the searches', else 0)")
    p.add_argument("--model", type=importable_here(check_model_name), metavar="MODEL",
                   help=f"a registered model ({', '.join(sorted(MODELS))}) or your own, package.module:factory; the "
                        "same for every schedule (default: the searches', else lenet5)")
    p.add_argument("--width", type=width(), help="model channel multiplier (default: the searches', else 1)")
    p.add_argument("--precision", choices=PRECISIONS, help="autocast precision (default: the searches')")
    p.add_argument("--pretrained", metavar="PATH", help="weights every run starts from (default: the searches')")
    p.add_argument("--cpus-per-run", type=positive("--cpus-per-run"), default=1.0, help="CPUs per run (default 1)")
    p.add_argument("--gpus-per-run", default="auto",
                   help="GPUs per run, fractions allowed (default auto: 1 when the cluster has GPUs)")
    p.add_argument("--seeds", type=int, default=5, help="seeds per schedule (>= 3, a warning below 5; default 5)")
    p.add_argument("--budget", type=float, help="epochs per run for every schedule (default: the baseline's)")
    add_budget_unit(p, BUDGET_UNITS)
    p.add_argument("--budgets", type=float, nargs="+", metavar="EPOCHS",
                   help="a budget sweep: every schedule and control at each of these budgets, e.g. 2 5 10 20")
    p.add_argument("--per-budget", action="store_true",
                   help="searches at several budgets under --results: each budget's schedules from the searches at "
                        "that budget (each studied at the budget it was tuned at)")
    p.add_argument("--reselect", type=checked("--reselect", int, lambda v: v >= 0, "an integer >= 0"), default=0,
                   metavar="K", help="re-choose each search's schedule among its K best trials by mean validation "
                                     "accuracy over fresh seeds (default 0: the best trial)")
    p.add_argument("--reselect-seeds", type=checked("--reselect-seeds", int, lambda v: v >= 2, "an integer >= 2"),
                   default=3, help="seeds per candidate of --reselect (default 3)")
    p.add_argument("--mlflow", nargs="?", const="", metavar="URI",
                   help="log every run to MLflow too (default URI: sqlite:///OUT/mlflow.db; needs "
                        "pip install -e '.[mlflow]')")
    p.add_argument("--resume", action="store_true", help="continue the study in --out: keep its finished runs")
    p.add_argument("--targets", type=float, nargs="*",
                   help="target accuracies for every budget (default, per budget: the baseline's median - 1 and - 0.5 "
                        "points)")
    p.add_argument("--evals", type=count("--evals"), default=40, help="evaluations per run (finer = sharper time to target)")
    p.add_argument("--out", type=Path, default=Path("results/study"), help="output folder")
    p.add_argument("--num-cpus", type=count("--num-cpus"), help="CPUs of the local Ray (default: all)")
    p.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, else a local Ray)")
    p.add_argument("--no-controls", action="store_true", help="only the given schedules and the baseline")
    p.add_argument("--controls", nargs="+", choices=CONTROL_CHOICES, default=list(CONTROL_CHOICES), metavar="NAME",
                   help=f"which controls join the tuned baseline (default: all of {', '.join(CONTROL_CHOICES)})")
    p.add_argument("--reanalyse", type=Path, help="recompute effects and outputs of an earlier study folder (no runs)")
    return p


def plain_baseline(template: Schedule, data: ImageDataset) -> Schedule:
    """One stage, all data, full size, with the template's run-wide settings."""
    stage = Stage(tuple(range(data.num_classes)), None, data.image_size, 1.0)
    return replace(template, stages=(stage,), hypothesis="baseline", selection="random")


def built(config: StudyConfig, data: ImageDataset, taken: dict[str, Schedule]) -> dict[str, Schedule]:
    """The builders' default schedule of each --hypotheses name (with the --set overrides) on the
    study's dataset; labelled by the name (name:default beside a searched schedule of that name)."""
    unknown = [h for h in config.hypotheses if h not in HYPOTHESES]
    if unknown:
        raise ScheduleError(f"--hypotheses {' '.join(unknown)} is invalid; expected names from {', '.join(HYPOTHESES)}")
    if config.sets and not config.hypotheses:
        raise ValueError("--set applies to --hypotheses schedules; expected --hypotheses NAME ... with it")
    params = parse_sets(list(config.sets))  # the budget: collect() sets every schedule's to one
    out = {}
    for name in dict.fromkeys(config.hypotheses):  # in order, once each
        label = name if name not in taken else f"{name}:default"
        out[label] = build_schedule({**params, "hypothesis": name}, data, DEFAULT_CACHE_DIR)
    return out


def collect(config: StudyConfig, data: ImageDataset, found: dict[str, Schedule] | None = None) -> dict[str, Schedule]:
    """Schedules under test (`found`: the searches', by hypothesis; else the best of each under
    --results) plus the controls, all at one budget (--budget, else the baseline's) and batch
    size; `at_budgets` takes them to each budget of a sweep."""
    if found is None and config.results:
        found = {h: cands[0] for (h, _), cands in choose.searched(config.results).items()}
    entries = dict(found or {})
    for path in config.schedules:
        if not path.is_file():
            raise ScheduleError(f"--schedule {str(path)!r} is not a file; expected a schedule JSON file")
        s = Schedule.from_json(path.read_text())
        entries[s.hypothesis if s.hypothesis not in entries else f"{s.hypothesis}:{path.stem}"] = s
    entries.update(built(config, data, entries))
    if not entries:
        raise ValueError("nothing to study; expected --results DIR, --schedule FILE.json and/or --hypotheses NAME ...")
    entries = {k: v for k, v in entries.items() if k == "baseline" or not is_control(k)}  # controls are derived
    base = entries.get("baseline") or plain_baseline(next(iter(entries.values())), data)
    budget, batch, unit = config.budget or base.budget_epochs, base.batch_size, config.budget_unit or base.budget_unit
    entries = {label: controls.same_budget(s, budget, batch, unit)
               for label, s in {**entries, "baseline": base}.items()}
    wanted = set(config.controls)
    if "equal_compute" in wanted:  # H3's matched control: the baseline at the compute of each schedule that shrinks
        n, full = len(data.train_y), data.image_size
        for label, s in list(entries.items()):
            if not is_control(label) and controls.compute_share(s, n, full) < 0.99:
                entries[f"{AT_COMPUTE}{label}"] = controls.equal_compute(entries["baseline"], s, n, full)
    # the matched control of H1's example order: H1's own stages when H1 is studied, else the first
    # schedule that grows the examples
    grown = [s for _, s in sorted(entries.items(), key=lambda e: e[0] != "h1") if any(st.per_class for st in s.stages)]
    if "random_growing" in wanted and grown:
        entries["random_growing"] = controls.random_order(grown[0])
    # H2's: the class counts of H2's own stages when H2 is studied, else of the first that grows the classes
    classed = [s for _, s in sorted(entries.items(), key=lambda e: e[0] != "h2") if controls.grows_classes(s)]
    if "random_classes" in wanted and classed:
        entries["random_classes"] = controls.random_classes(classed[0])
    for label, s in list(entries.items()):
        anti = controls.anti_curriculum(s) if "anti" in wanted and not is_control(label) else None
        if anti is not None:
            entries[f"anti_{label}"] = anti
    if "budgeted" in wanted and entries["baseline"].lr_policy.name != "linear":
        entries["budgeted"] = controls.budgeted(entries["baseline"])
    elif "budgeted" in wanted:  # the tuned baseline already decays linearly to zero: it *is* the budgeted baseline
        print("note: the baseline already uses linear decay to zero; no separate budgeted control", file=sys.stderr)
    for s in entries.values():
        s.check_dataset(data.examples_per_class().tolist(), data.image_size)
    return entries


def study_budgets(config: StudyConfig, entries: dict[str, Schedule]) -> list[float]:
    """--budgets, else the one budget every entry has."""
    return sorted(set(config.budgets)) if config.budgets else [entries["baseline"].budget_epochs]


def at_budgets(entries: dict[str, Schedule], budgets: list[float],
               data: ImageDataset) -> dict[tuple[str, float], Schedule]:
    """(label, budget) -> the schedule at that budget: its stages keep their shares of it; an
    equal-compute baseline is derived again there, from its schedule at that budget (whole
    batches round differently at each budget)."""
    out = {}
    for b in budgets:
        at = {label: controls.same_budget(s, b, s.batch_size) for label, s in entries.items()}
        for label in (lb for lb in at if lb.startswith(AT_COMPUTE)):
            at[label] = controls.equal_compute(at["baseline"], at[label.removeprefix(AT_COMPUTE)], len(data.train_y),
                                      data.image_size)
        out |= {(label, b): s for label, s in at.items()}
    return out


def searched_budgets(config: StudyConfig) -> tuple[choose.Found | None, list[float] | None]:
    """With --per-budget or --reselect: the searches' candidates (each hypothesis's best trial, or
    its --reselect best) and, with --per-budget, the study's budgets (--budgets, every one of them
    searched, else every searched budget); (None, None) otherwise."""
    if not (config.per_budget or config.reselect):
        return None, None
    found = choose.searched(config.results, top=max(1, config.reselect), per_budget=config.per_budget)
    if not config.per_budget:
        return found, None
    searched = sorted({b for _, b in found})
    budgets = sorted(set(config.budgets)) if config.budgets else searched
    missing = [b for b in budgets if b not in searched or ("baseline", b) not in found]
    if missing:
        raise ValueError(f"--budgets {' '.join(f'{b:g}' for b in missing)} were not searched (with the baseline) "
                         f"under --results; expected budgets among {' '.join(f'{b:g}' for b in searched)}")
    return found, budgets


def plan(config: StudyConfig, data: ImageDataset, chosen: dict | None,
         budgets: list[float] | None) -> dict[tuple[str, float], Schedule]:
    """(label, budget) -> schedule: one set of schedules taken to every budget of the sweep, or
    with --per-budget each budget's own searched schedules and their controls."""
    if not config.per_budget:
        entries = collect(config, data, None if chosen is None else {h: s for (h, _), s in chosen.items()})
        return at_budgets(entries, study_budgets(config, entries), data)
    out = {}
    for b in budgets:
        at = collect(replace(config, budget=b), data, {h: s for (h, bb), s in chosen.items() if bb == b})
        out |= {(label, b): s for label, s in at.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.reanalyse is not None:
        if not (args.reanalyse / "runs.parquet").is_file():
            return fail(f"--reanalyse {str(args.reanalyse)!r} has no runs.parquet; expected an earlier study's folder")
        from tune_growth.study.outputs import reanalyse
        print(reanalyse(args.reanalyse))
        return 0
    try:
        warning = seed_warning(args.seeds)
        config = study_config(args)
        data = load_dataset(config.data)
        if config.pretrained is not None:  # a wrong file is one line here, not a failed run per seed
            from tune_growth.models.pretrained import load_pretrained
            from tune_growth.models.registry import build_model

            load_pretrained(build_model(config.model, data.channels, data.num_classes, config.width), config.model,
                            config.pretrained)
        found, budgets = searched_budgets(config)
        entries = plan(config, data, None if found is None else {k: v[0] for k, v in found.items()}, budgets)
    except (DatasetError, ScheduleError, ValueError) as err:
        return fail(str(err))
    from tune_growth.study.outputs import write_study

    if warning:
        print(warning, file=sys.stderr, flush=True)
    if config.reselect:  # the same plan, its searched schedules chosen again
        from tune_growth.search.run import init_ray
        from tune_growth.study.run import run_resources

        init_ray(config.address, config.num_cpus)
        print(f"Re-choosing each search's schedule among its {config.reselect} best trials over "
              f"{config.reselect_seeds} fresh seeds (validation)", flush=True)
        chosen = choose.reselect(found, data, config, *run_resources(config.cpus_per_run, config.gpus_per_run))
        entries = plan(config, data, chosen, budgets)
    labels, swept = list(dict.fromkeys(label for label, _ in entries)), sorted({b for _, b in entries})
    unit = budget_words(next(iter(entries.values())).budget_unit)
    print(f"Study on {config.data.name} with {config.model}: {len(labels)} schedules x {len(swept)} budgets "
          f"({', '.join(f'{b:g}' for b in swept)} {unit}"
          f"{', each tuned at its own' if config.per_budget else ''}) x {config.seeds} seeds = "
          f"{len(entries) * config.seeds} runs:", flush=True)
    for (label, b), s in entries.items():
        if config.per_budget or b == swept[0]:
            print(f"  {label:>16}{f' @ {b:g}' if config.per_budget else ''}: {s.describe()}", flush=True)
    print(write_study(entries, data, config, warning), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
