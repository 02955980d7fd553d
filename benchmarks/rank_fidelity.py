"""rank_fidelity: do cheap fidelities rank schedules the way their full-budget runs do?

For each space, a fixed set of configurations (sampled at random, seeded) is trained to the end
at the full budget, and as complete miniatures at budget / eta^k (the budget-ladder fidelity,
search/ladder.py). The partial-run fidelity (phase-aligned ASHA, search/scheduler.py) is read off
the full runs: the validation accuracy of the first record at or past each rung (phase_start x 2^k
of the budget) once the schedule has spent `settle` of its budget on the full problem, as the
scheduler judges it. Reports per fidelity: Spearman's rho with the full-budget validation accuracy
(95% bootstrap interval over configurations), how often the configuration that is best at full
budget would have been discarded (outside the best 1/eta of a random rung of `--rung-size`
configurations; 1,000 draws), and its compute as a fraction of the full run's. The noise ceiling
is the same table for the full run at another training seed: no fidelity can rank better than the
full runs agree with themselves. Each fidelity's rho is also given against that other-seed full
run (`rho_other_seed`), free of the noise a fidelity shares with the seed-0 full run.

Every run is appended to `--out` (JSON lines) as it finishes, and `--resume` skips what is there.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import torch
from scipy.stats import spearmanr

from benchmarks.common import SEARCH_DATASETS, append_run, emit, load_runs, search_dataset
from tune_growth.cache import DEFAULT_CACHE_DIR
from tune_growth.schedule.builders import build_schedule
from tune_growth.search import spaces
from tune_growth.search.trial import baseline_compute
from tune_growth.train.config import RunConfig
from tune_growth.train.trainer import Trainer

SPACES = ("baseline", "h1", "h2", "h3", "combined")


def configs(space: spaces.Space, n: int, seed: int, budget: float) -> list[dict]:
    """`n` configurations of the space, drawn at random (seeded), as builder parameters."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        extra = space.fn(trial) or {}
        out.append({**space.fixed, **trial.params, **extra, "budget_epochs": budget})
    return out


def train(params: dict, data, config: RunConfig) -> dict:
    """One complete run: its final validation accuracy, compute, and (budget_used, full-problem
    share, val_acc, finished) per record for the partial-run fidelity."""
    schedule = build_schedule(params, data, config.cache_dir)
    trainer = Trainer(schedule, data, config)
    full = baseline_compute(data, schedule.budget_epochs)
    records = [(r["compute"] / full, trainer.full_problem_share(r["examples"], r["compute"]), r["val_acc"], r["finished"])
               for r in trainer.run()]
    return {"val_acc": records[-1][2], "compute": trainer.counters.compute, "records": records,
            "status": trainer.counters.status}


def asha_value(records: list, rung: float, settle: float) -> tuple[float, float]:
    """The validation accuracy phase-aligned ASHA would judge at `rung` (a budget fraction), and
    the fraction of the run's compute spent by then."""
    for used, share, acc, finished in records:
        if used >= rung - 1e-9 and (share >= settle or finished):
            return acc, used / records[-1][0]
    return records[-1][2], 1.0


def rho_interval(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, draws: int = 2000) -> list[float]:
    """Spearman's rho and its 95% bootstrap interval over configurations."""
    rho = float(spearmanr(x, y).statistic)
    boot = []
    for _ in range(draws):
        i = rng.integers(0, len(x), len(x))
        if len(set(x[i])) > 1 and len(set(y[i])) > 1:
            boot.append(spearmanr(x[i], y[i]).statistic)
    if not boot:  # too few distinct values to resample
        return [round(rho, 3), None, None]
    return [round(rho, 3), round(float(np.percentile(boot, 2.5)), 3), round(float(np.percentile(boot, 97.5)), 3)]


def discards_best(low: np.ndarray, full: np.ndarray, eta: float, size: int, rng: np.random.Generator,
                  draws: int = 1000) -> float:
    """How often the best-at-full-budget configuration of a random rung of `size` configurations
    falls outside the best 1/eta of that rung by the low fidelity."""
    keep, lost = max(1, int(size // eta)), 0
    for _ in range(draws):
        i = rng.choice(len(full), size=min(size, len(full)), replace=False)
        best = i[np.argmax(full[i])]
        lost += best not in i[np.argsort(-low[i], kind="stable")[:keep]]
    return round(lost / draws, 3)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks rank_fidelity", description=__doc__.splitlines()[0])
    p.add_argument("--spaces", nargs="+", default=list(SPACES), help="search spaces")
    p.add_argument("--dataset", choices=sorted(SEARCH_DATASETS), default="mnist5k",
                   help="mnist5k with lenet5, or the CIFAR-10 subset in ../shared with ResNet-9 x 0.25")
    p.add_argument("--configs", type=int, default=16, help="configurations per space")
    p.add_argument("--budget", type=float, help="full budget in epochs (default: the space's; 10 for cifar)")
    p.add_argument("--eta", type=float, default=3.0, help="budget-ladder reduction factor")
    p.add_argument("--rungs", type=int, default=3, help="budget rungs (the top one is the full run)")
    p.add_argument("--rung-size", type=int, default=9, help="configurations a rung compares, for discards")
    p.add_argument("--seed", type=int, default=0, help="seed of the configuration sample")
    p.add_argument("--no-ceiling", action="store_true", help="skip the full runs at a second training seed")
    p.add_argument("--out", type=Path, default=Path("results/rank_fidelity.jsonl"), help="runs, one JSON per line")
    p.add_argument("--resume", action="store_true", help="keep the runs already in --out")
    return p


def space_runs(args: argparse.Namespace, name: str, space: spaces.Space, budgets: list[float], data,
               config: RunConfig, done: dict[str, dict]) -> dict[tuple[int, float, int], dict]:
    """Every run of one space, keyed (configuration, budget in epochs, training seed): each rung of
    the budget ladder at seed 0 and, unless --no-ceiling, the full budget at seed 1. A run already in
    `done` is reused; a new one is added to it and appended to --out."""
    budget = budgets[-1]
    runs = {}
    jobs = [(b, 0) for b in budgets] + ([] if args.no_ceiling else [(budget, 1)])  # (epochs, training seed)
    for c, params in enumerate(configs(space, args.configs, args.seed, budget)):
        for b, train_seed in jobs:
            key = f"{args.dataset}/{name}/{args.seed}/{c}/{b:.6g}" + (f"/train{train_seed}" if train_seed else "")
            if key not in done:
                run = train({**params, "budget_epochs": b}, data, replace(config, seed=train_seed))
                done[key] = {"key": key, **run}
                append_run(args.out, done[key])
            runs[c, b, train_seed] = done[key]
    return runs


def fidelities(args: argparse.Namespace, space: spaces.Space, runs: dict, budgets: list[float]) -> dict:
    """fidelity name -> (its validation accuracy per configuration, its mean compute as a fraction
    of the full run's, the reduction factor its rung keeps 1/eta by): the budget ladder's lower
    rungs, the seed-1 ceiling, and phase-aligned ASHA's rungs read off the seed-0 full runs."""
    budget, n = budgets[-1], args.configs
    out = {f"budgets_{b / budget:.3g}": (np.array([runs[c, b, 0]["val_acc"] for c in range(n)]),
                                         np.mean([runs[c, b, 0]["compute"] / runs[c, budget, 0]["compute"]
                                                  for c in range(n)]), args.eta)
           for b in budgets[:-1]}
    if not args.no_ceiling:
        out["ceiling_seed1"] = (np.array([runs[c, budget, 1]["val_acc"] for c in range(n)]), 1.0, args.eta)
    rung = space.phase_start
    while rung < 1.0:
        values = [asha_value(runs[c, budget, 0]["records"], rung, space.settle) for c in range(n)]
        out[f"asha_{rung:.3g}"] = (np.array([v for v, _ in values]), np.mean([u for _, u in values]), 2.0)
        rung *= 2.0
    return out


def space_report(args: argparse.Namespace, space: spaces.Space, runs: dict, budgets: list[float],
                 rng: np.random.Generator) -> dict:
    """One space's table: each fidelity's rho against the seed-0 and the seed-1 full runs, how often
    it discards the best, and its compute."""
    budget, n = budgets[-1], args.configs
    full = np.array([runs[c, budget, 0]["val_acc"] for c in range(n)])
    # The fidelities share training seed 0 with the full run (its initialization, its data order;
    # ASHA's even its very run), so their agreement with it includes shared noise. Against the full
    # run at training seed 1 they agree only through what the configuration decides.
    other = None if args.no_ceiling else np.array([runs[c, budget, 1]["val_acc"] for c in range(n)])
    return {"configs": n, "budget_epochs": budget, "full_val_acc": [round(float(v), 4) for v in full],
            "fidelities": {f: {"rho": rho_interval(low, full, rng),
                               "rho_other_seed": None if other is None or f.startswith("ceiling")
                               else rho_interval(low, other, rng),
                               "discards_best": discards_best(low, full, eta, args.rung_size, rng),
                               "compute_fraction": round(float(cost), 3)}
                           for f, (low, cost, eta) in fidelities(args, space, runs, budgets).items()}}


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    data, model, width = search_dataset(args.dataset)
    config = RunConfig(model=model, width=width, evals=20, cache_dir=DEFAULT_CACHE_DIR, monitor="val")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = load_runs(args.out, args.resume)
    rng, report = np.random.default_rng(args.seed), {}
    for name in args.spaces:
        space = spaces.load(name)
        budget = args.budget or (10.0 if args.dataset == "cifar" else space.budget_epochs)
        budgets = [budget / args.eta ** (args.rungs - 1 - r) for r in range(args.rungs)]
        runs = space_runs(args, name, space, budgets, data, config, done)
        report[name] = space_report(args, space, runs, budgets, rng)
    emit("rank_fidelity", {"dataset": args.dataset, "model": model, "width": width, "seed": args.seed,
                           "eta": args.eta, "rungs": args.rungs, "rung_size": args.rung_size, "spaces": report})


if __name__ == "__main__":
    main()
