"""`python -m benchmarks frontier`: one frontier search per shipped space (`--objective frontier
--cost compute`, the budget searched log-uniform over the verdict's budget range, budgets in
compute, equal trials per space, seed 0), their fronts and hypervolumes against one reference
point, and how each front's best-within-budget answers compare with the verdict's single-budget
searches (benchmarks/verdict.py) of the same space.

Per dataset (PROTOCOLS): DATASET/searches/SPACE/ under --out (default results/frontier), each
finished search's tables copied to --publish/DATASET/searches/SPACE/ (commit them as they land;
a fresh checkout takes them back instead of searching again), and, once every space is in,
--publish/DATASET/fronts.md, fronts.json, fronts_compute.png and expected_hypervolume_compute.png.

The comparison: for each budget B the verdict searched, the frontier search's most accurate trial
within the baseline's compute at B (`results --best-within`) against the verdict search's best
trial at B, both chosen on validation, their test accuracies beside them; and the compute each
spent in all (a frontier search of N trials spends about N x the mean budget; the verdict's
searches N x the sum of its budgets). One schedule per search is one draw: the differences are
for reading, not a test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import pandas as pd

from benchmarks.common import emit, require_cifar
from benchmarks.verdict import COMPUTE, SPACES, copy_search, finished, read_json, run
from benchmarks.verdict import PROTOCOLS as VERDICT
from tune_growth.analysis.fronts import front_figures, front_table
from tune_growth.analysis.report import save_figures
from tune_growth.io import atomic_write_text
from tune_growth.results.answers import AnswerError, CostLimit, best_within
from tune_growth.results.frontier import reference_point

# dataset -> the verdict protocol it shares flags and budgets with (the range: its lowest to its
# highest budget), its trials per space and chance accuracy; smoke: the CI's, every step in a minute
PROTOCOLS = {"cifar": {"verdict": "cifar", "trials": 12, "chance": 0.1, "spaces": SPACES},
             "mnist5k": {"verdict": "mnist5k", "trials": 16, "chance": 0.1, "spaces": SPACES},
             "smoke": {"verdict": "smoke", "trials": 3, "chance": 0.1, "spaces": ("h1",),  # trial 0: the baseline
                       "range": (0.2, 0.5)}}
DEFAULT = ["cifar", "mnist5k"]


def budget_range(name: str) -> tuple[float, float]:
    proto = PROTOCOLS[name]
    budgets = VERDICT[proto["verdict"]]["budgets"]
    return proto.get("range", (min(budgets), max(budgets)))


def searches(name: str, root: Path, timing: dict, dest: Path) -> None:
    """Every space's frontier search (TPE, seed 0)."""
    for space in PROTOCOLS[name]["spaces"]:
        ensure(name, space, space, [], root, timing, dest)


def sampler_searches(name: str, root: Path, timing: dict, dest: Path, samplers: list[str], seeds: int) -> list[str]:
    """H1's frontier search by each sampler and seed (TPE at seed 0 is the space's own search);
    the experiments' names."""
    names = []
    for sampler in samplers:
        for seed in range(seeds):
            exp = "h1" if (sampler, seed) == ("tpe", 0) else f"h1_{sampler}_s{seed}"
            ensure(name, "h1", exp, ["--sampler", sampler, "--seed", str(seed)], root, timing, dest)
            names.append(exp)
    return names


def ensure(name: str, space: str, exp_name: str, extra: list[str], root: Path, timing: dict, dest: Path) -> None:
    """Run (or resume) one frontier search unless it finished, here or in DEST, whose copy is
    taken back on a fresh checkout and written as soon as the search ends."""
    proto, verdict = PROTOCOLS[name], VERDICT[PROTOCOLS[name]["verdict"]]
    low, high = budget_range(name)
    exp, kept = root / "searches" / exp_name, dest / "searches" / exp_name
    if not finished(exp, proto["trials"]) and finished(kept, proto["trials"]):
        shutil.rmtree(exp, ignore_errors=True)
        copy_search(kept, exp)
    if finished(exp, proto["trials"]):
        if not finished(kept, proto["trials"]):
            copy_search(exp, kept)
        return
    resume = any(exp.glob("experiment_state-*.json"))
    if exp.is_dir() and not resume:
        shutil.rmtree(exp)
    cmd = [sys.executable, "-m", "tune_growth", "search", space, *verdict["flags"], *COMPUTE,
           "--objective", "frontier", "--cost", "compute", "--budget", str(high), "--min-budget", str(low),
           "--storage", str(root / "searches"), "--name", exp_name, "--trials", str(proto["trials"]),
           "--seed", "0", *extra] + (["--resume"] if resume else [])
    run(f"frontier {exp_name}", cmd, root, timing, dest)
    if not finished(exp, proto["trials"]):
        raise SystemExit(f"frontier search {exp_name} ended before its trials finished (interrupted?); run again")
    copy_search(exp, kept)


def sampler_table(root: Path, names: list[str], chance: float) -> pd.DataFrame:
    """Hypervolume per sampler search, against one reference point."""
    frames = pd.concat([trials_of(root / "searches" / n).assign(experiment=n) for n in names], ignore_index=True)
    table, _ = front_table(frames, "compute", reference_point(frames, "compute", chance))
    return table


def trials_of(folder: Path) -> pd.DataFrame:
    from tune_growth.results.load import load

    return load(folder, refresh=False)[0]


def against_verdict(name: str, fronts: pd.DataFrame, dest: Path) -> list[dict]:
    """Per space and verdict budget: the front's best within that budget's compute against the
    verdict search's best trial there (where that search is kept)."""
    verdict = VERDICT[PROTOCOLS[name]["verdict"]]
    kept = Path(__file__).parent / "measured" / "verdict_v2" / name / "searches"
    rows = []
    for space, group in fronts.groupby("space_name", sort=False):
        control = group[group["is_control"]].iloc[0]  # the baseline at the top budget
        singles = {b: trials_of(kept / f"{space}_b{b:g}") for b in verdict["budgets"]
                   if finished(kept / f"{space}_b{b:g}", verdict["trials"])}  # each read once
        for budget in verdict["budgets"]:
            if budget not in singles:
                continue
            one = singles[budget][singles[budget]["status"] == "completed"]
            best = one.loc[one["final_val_acc"].idxmax()]
            limit = float(control["compute"]) * budget / budget_range(name)[1] * 1.0001  # rounding of steps
            try:
                pick = best_within(group, CostLimit(limit, "compute"))
            except AnswerError:
                continue
            rows.append({"space": space, "budget": budget, "frontier_val": pick["final_val_acc"],
                         "frontier_test": pick["final_test_acc"], "frontier_compute": pick["compute"],
                         "single_val": best["final_val_acc"], "single_test": best["final_test_acc"],
                         "single_compute": best["compute"], "test_difference": pick["final_test_acc"] - best["final_test_acc"],
                         "frontier_search_compute": float(group["compute"].sum()),
                         "single_searches_compute": float(sum(t["compute"].sum() for t in singles.values()))})
    return rows


def analyse(name: str, root: Path, dest: Path) -> dict:
    """The fronts, hypervolumes and comparison of a dataset whose searches are all in."""
    frames = []
    for space in PROTOCOLS[name]["spaces"]:
        t = trials_of(root / "searches" / space)
        frames.append(t.assign(space_name=space))
    fronts = pd.concat(frames, ignore_index=True)
    figs, tables = front_figures(fronts, PROTOCOLS[name]["chance"])
    save_figures(figs, dest)
    table = tables["compute"]
    comparison = against_verdict(name, fronts, dest)
    out = {"hypervolumes": table.to_dict("records"), "against_single_budget_searches": comparison}
    atomic_write_text(dest / "fronts.json", json.dumps(out, indent=1, default=float) + "\n")
    atomic_write_text(dest / "fronts.md", markdown(name, table, comparison))
    return out


def markdown(name: str, table: pd.DataFrame, comparison: list[dict]) -> str:
    ref = table.iloc[0]
    lines = [f"# Frontier searches, {name}\n", f"Reference point: accuracy {ref['ref_accuracy']:.3g} (chance), compute "
             f"{ref['ref_cost']:.3g} (twice the costliest baseline control's). Hypervolume in accuracy × decades of "
             "compute.\n", "| space | trials | on the front | hypervolume | expected hypervolume, all trials [95%] |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r.experiment} | {r.trials} | {r.front} | {r.hypervolume:.4f} | {r.expected_all:.4f} [{r.low:.4f}, "
              f"{r.high:.4f}] |" for r in table.itertuples()]
    lines += ["", "## The front's best within each budget against the single-budget search there", "",
              "| space | budget | front: val / test | single-budget search: val / test | test difference (points) | "
              "compute of the whole search: front / single-budget searches |", "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['space']} | {r['budget']:g} | {100 * r['frontier_val']:.1f} / {100 * r['frontier_test']:.1f} | "
              f"{100 * r['single_val']:.1f} / {100 * r['single_test']:.1f} | {100 * r['test_difference']:+.1f} | "
              f"{r['frontier_search_compute']:.3g} / {r['single_searches_compute']:.3g} |" for r in comparison]
    return "\n".join(lines) + "\n"


def samplers_markdown(table: pd.DataFrame) -> str:
    """The samplers' hypervolumes, with their mean per sampler."""
    table = table.assign(sampler=[e.split("_")[1] if "_" in e else "tpe" for e in table["experiment"]])
    lines = ["# H1's frontier search by sampler\n", f"Reference point: accuracy {table['ref_accuracy'].iloc[0]:.3g}, "
             f"compute {table['ref_cost'].iloc[0]:.3g}.\n", "| search | sampler | on the front | hypervolume |",
             "| --- | --- | --- | --- |"]
    lines += [f"| {r.experiment} | {r.sampler} | {r.front} | {r.hypervolume:.4f} |" for r in table.itertuples()]
    means = table.groupby("sampler")["hypervolume"].agg(["mean", "count"])
    lines += ["", "| sampler | mean hypervolume | searches |", "| --- | --- | --- |"]
    lines += [f"| {s} | {m['mean']:.4f} | {int(m['count'])} |" for s, m in means.iterrows()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks frontier", description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=DEFAULT, choices=list(PROTOCOLS))
    p.add_argument("--out", type=Path, default=Path("results/frontier"))
    p.add_argument("--publish", type=Path, default=Path(__file__).parent / "measured" / "frontier")
    p.add_argument("--samplers", nargs="*", default=["tpe", "nsga2", "random"],
                   help="H1's frontier search by each of these samplers too (none: skip)")
    p.add_argument("--samplers-on", default="mnist5k", choices=list(PROTOCOLS), help="the dataset they run on")
    p.add_argument("--sampler-seeds", type=int, default=2, help="seeds per sampler")
    args = p.parse_args(argv)
    if "cifar" in args.datasets:
        require_cifar(", or --datasets mnist5k")
    results = {}
    for name in args.datasets:
        root, dest = args.out / name, args.publish / name
        root.mkdir(parents=True, exist_ok=True)
        dest.mkdir(parents=True, exist_ok=True)
        if (dest / "timing.json").is_file() and not (root / "timing.json").is_file():  # a fresh checkout
            shutil.copyfile(dest / "timing.json", root / "timing.json")
        timing = read_json(root / "timing.json")
        searches(name, root, timing, dest)
        results[name] = analyse(name, root, dest)
        if args.samplers and name == args.samplers_on:
            names = sampler_searches(name, root, timing, dest, args.samplers, args.sampler_seeds)
            table = sampler_table(root, names, PROTOCOLS[name]["chance"])
            atomic_write_text(dest / "samplers.md", samplers_markdown(table))
            results[name]["samplers"] = table.to_dict("records")
        print(f"{name}: {sum(timing.values()) / 60:.1f} min of searches; wrote {dest / 'fronts.md'}", flush=True)
    emit("frontier", {"datasets": {name: {"hypervolume": {r["experiment"]: round(r["hypervolume"], 4)
                                                          for r in res["hypervolumes"]}}
                                   for name, res in results.items()}})


if __name__ == "__main__":
    main()
