"""`python -m benchmarks.answer`: the README's answer tables, rendered from the published verdict
(benchmarks/measured/verdict_v2/DATASET/effects.parquet, written by `make verdict`), never typed by
hand. `--write README.md` replaces the block between the README's two markers; `--check README.md`
exits 1 when that block differs from what the published Parquet files give (the tests run it).

Two tables: per dataset, how many of its declared primary comparisons (study/families.py:
each hypothesis against the tuned baseline at equal compute and against its matched control, final
test accuracy, every budget, Holm-corrected) are better, worse, equivalent within the margin or
inconclusive, with the minimum detectable effect; and per comparison, each dataset's decisions by
budget. A dataset whose study has not finished is listed as such. Below them, where each dataset
ran: its minutes of steps (timing.json) and the CPUs of its searches and study (machines.json,
written by benchmarks/verdict.py as each step ends).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from tune_growth.analysis.tables import markdown_table
from tune_growth.study.families import detectable_effects
from tune_growth.study.inference import MARGIN, Decision

PUBLISHED = Path(__file__).parent / "measured" / "verdict_v2"
# dataset folder under PUBLISHED -> how the README names it, in the README's order
DATASETS = {"mnist5k": "mnist5k (lenet5)", "cifar": "CIFAR-10 subset (ResNet-9 × 0.25)",
            "tinyimagenet": "Tiny-ImageNet, 50 classes (ResNet-9 × 0.25)",
            "mnist5k_noise": "mnist5k, 20% noisy labels (lenet5)"}
# reference -> how the README names it, matched controls first
REFERENCES = {"random_growing": "random examples, same stages", "random_classes": "random class order, same stages",
              "baseline": "the tuned baseline"}
BEGIN = "<!-- answer tables: rendered by `python -m benchmarks.answer --write README.md`; do not edit -->"
END = "<!-- end of answer tables -->"
ORDER = [Decision.BETTER, Decision.WORSE, Decision.EQUIVALENT, Decision.INCONCLUSIVE]


def primary(folder: Path) -> pd.DataFrame | None:
    """A dataset's primary family from its published effects table; None before its study finished."""
    path = folder / "effects.parquet"
    if not path.is_file():
        return None
    effects = pd.read_parquet(path)
    return effects[effects["family"] == "primary"].assign(half_width=lambda e: (e["high"] - e["low"]) / 2)


def budgets(rows: pd.DataFrame) -> str:
    return ", ".join(f"{b:g}" for b in sorted(rows["budget"]))


def span(values: pd.Series, first: str, rest: str) -> str:
    """The range of `values` at one decimal, e.g. "±0.3–0.9": `first` formats the low end, `rest`
    the high end, left out when both round alike."""
    low, high = values.min(), values.max()
    return first.format(low) + ("" if round(low, 1) == round(high, 1) else rest.format(high))


def cell(rows: pd.DataFrame, margin: float = MARGIN) -> str:
    """One comparison's decisions on one dataset, grouped by decision: the budgets (epochs of
    compute) where each holds, with the effect (points) for better/worse and the interval's
    half-width for inconclusive."""
    if rows.empty:
        return "—"
    parts = []
    for decision in ORDER:
        group = rows[rows["decision"] == decision.value]
        if group.empty:
            continue
        if decision is Decision.EQUIVALENT:
            parts.append(f"equivalent within ±{margin:g} at {budgets(group)}")
        elif decision is Decision.INCONCLUSIVE:
            parts.append(f"inconclusive at {budgets(group)} ({span(group['half_width'], '±{:.1f}', '–{:.1f}')})")
        else:
            parts.append(f"{decision.value} at {budgets(group)} ({span(group['estimate'], '{:+.1f}', ' to {:+.1f}')})")
    return "; ".join(parts)


def counts_row(name: str, table: pd.DataFrame | None) -> list[str]:
    if table is None:
        return [name, "study not finished yet", *[""] * 6]
    n = {d: int((table["decision"] == d.value).sum()) for d in ORDER}
    seeds = int(table["seeds"].min())
    mde = detectable_effects(table, seeds)
    return [name, budgets(table.drop_duplicates("budget")), str(seeds), *(str(n[d]) for d in ORDER),
            f"{mde['per_comparison']:.2f}" if mde else "—"]


def read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def machines_row(name: str, folder: Path, finished: bool) -> list[str]:
    """Where one dataset ran: minutes of steps (so far, before its study finished) and, per kind
    of step, the CPUs recorded for it; "not recorded" for steps run before machines.json was."""
    timing, machines = read_json(folder / "timing.json"), read_json(folder / "machines.json")
    minutes = "—" if timing is None else f"{sum(timing.values()) / 60:.0f}" + ("" if finished else " so far")
    if machines is None:
        return [name, minutes, "not recorded"]
    kinds = {}
    for step, cpus in machines.items():  # "search h1_b2" -> searches, "study" -> study
        kinds.setdefault("searches" if step.startswith("search ") else step, set()).update(cpus)
    return [name, minutes, "; ".join(f"{kind}: {', '.join(sorted(cpus))}" for kind, cpus in kinds.items())]


def render(published: Path = PUBLISHED, margin: float = MARGIN) -> str:
    """Both tables as Markdown (see the module docstring)."""
    tables = {name: primary(published / name) for name in DATASETS}
    text = markdown_table(["dataset (model)", "budgets (epochs of compute)", "seeds", "better", "worse",
                           f"equivalent within ±{margin:g}", "inconclusive", "MDE (points)"],
                          [counts_row(DATASETS[n], t) for n, t in tables.items()])
    done = {n: t for n, t in tables.items() if t is not None}
    pairs = list(dict.fromkeys((r.label, r.reference) for t in done.values() for r in t.itertuples()))
    rows = [[f"{label} vs {REFERENCES.get(ref, ref)}",
             *(cell(t[(t["label"] == label) & (t["reference"] == ref)], margin) for t in done.values())]
            for label, ref in sorted(pairs, key=lambda p: (p[0].count("+"), p[0], list(REFERENCES).index(p[1])
                                                           if p[1] in REFERENCES else len(REFERENCES), p[1]))]
    if rows:
        text += "\n" + markdown_table(["comparison (final test accuracy, points)", *(DATASETS[n] for n in done)], rows)
    where = [machines_row(DATASETS[n], published / n, tables[n] is not None) for n in DATASETS
             if (published / n).is_dir()]
    if where:
        text += "\n" + markdown_table(["dataset (model)", "minutes of steps", "CPUs (machines.json)"], where)
    return text


def replaced(readme: str, block: str) -> str:
    """README text with the block between BEGIN and END replaced; a README without both markers
    is an error naming them."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the README lacks the answer markers {BEGIN!r} ... {END!r}")
    return readme[:start + len(BEGIN)] + "\n" + block + readme[end:]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.answer", description=__doc__.splitlines()[0])
    group = p.add_mutually_exclusive_group()
    group.add_argument("--write", type=Path, metavar="README", help="replace the README's answer block")
    group.add_argument("--check", type=Path, metavar="README", help="exit 1 when the README's block is stale")
    p.add_argument("--published", type=Path, default=PUBLISHED, help=f"default: {PUBLISHED}")
    args = p.parse_args(argv)
    block = render(args.published)
    path = args.write or args.check
    if path is None:
        print(block, end="")
        return 0
    readme = path.read_text()
    try:
        new = replaced(readme, block)
    except ValueError as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 2
    if args.check:
        if new != readme:
            print(f"{path}: the answer tables differ from {args.published}; run python -m benchmarks.answer "
                  f"--write {path}", file=sys.stderr)
            return 1
        return 0
    path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
