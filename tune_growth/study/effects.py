"""Effects of each schedule against the baseline and the random-order control, at every budget,
as tables and plain verdicts (the plots are in figures.py).

Runs of one budget are compared with the reference's runs of the same budget and seed (paired:
they share initialization and data order). Time to a target is read off each run's curve with
`stats.crossing` (interpolated between evaluations, bracketed by them). The targets, unless
given, are per budget: the baseline's median final test accuracy at that budget minus 1 and minus
0.5 points, so a short budget is judged on what a short budget can reach.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tune_growth.analysis.tables import markdown_table
from tune_growth.schedule.controls import AT_COMPUTE, is_control
from tune_growth.study.families import FAMILY_COLUMNS, with_families
from tune_growth.study.stats import accuracy_difference, crossing, speedup
from tune_growth.study.verdicts import (
    SPEEDS,
    Direction,
    Measure,
    Verdict,
    accuracy_verdict,
    reached_note,
    render,
    speed_verdict,
    summary_word,
)

REFERENCES = ("baseline", "random_growing")  # the compact tables' columns
REFERENCE_NAMES = {"baseline": "tuned baseline", "random_growing": "random-order control",
                   "random_classes": "random-class-order control"}


def references(label: str, labels) -> list[str]:
    """The references `label` is compared with among `labels`: REFERENCES, H2's random class
    order, then its own equal-compute baseline (AT_COMPUTE + label), each where the study has it."""
    return [r for r in (*REFERENCES, "random_classes", f"{AT_COMPUTE}{label}") if r in labels and r != label]


def reference_name(ref: str, tuned: bool = True) -> str:
    """How a sentence names a reference; the baseline is "tuned" only when a search tuned it."""
    if ref == "baseline" and not tuned:
        return "baseline (not tuned by a search)"
    return REFERENCE_NAMES.get(ref) or f"equal-compute baseline ({ref.removeprefix(AT_COMPUTE)}'s compute)"
AXES = {Measure.COMPUTE: 0, Measure.SECONDS: 1}  # column of curve_json: [compute, training seconds, test accuracy]


def default_targets(runs: pd.DataFrame) -> list[float]:
    """The baseline's median final test accuracy minus 1 and minus 0.5 points (runs of one budget)."""
    median = float(np.median(runs.loc[runs["label"] == "baseline", "final_test_acc"]))
    return [round(median - 0.01, 4), round(median - 0.005, 4)]


def curves(runs: pd.DataFrame) -> pd.Series:
    """Each run's curve_json parsed once: an array of [compute, training seconds, test accuracy]
    rows where the test accuracy was evaluated."""
    def parse(text: str) -> np.ndarray:
        c = np.array([p for p in json.loads(text) if p[2] is not None], dtype=float).reshape(-1, 3)
        if not len(c):
            raise ValueError("a run's curve holds no test accuracy; expected the study's runs (monitor='test')")
        return c
    return runs["curve_json"].map(parse)


def crossings(parsed: pd.Series, target: float, measure: Measure) -> pd.DataFrame:
    """Per run (curves() of them, in their order): point, lo, hi and reached for the first
    crossing of `target`, on the cost axis of `measure` (compute or seconds)."""
    col = AXES[measure]
    rows = [crossing(c[:, col], c[:, 2], target) for c in parsed]
    return pd.DataFrame(rows, columns=["point", "lo", "hi", "reached"], index=parsed.index)


def _pair(group: pd.DataFrame, base: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """(group, base) on the seeds they share, aligned seed by seed (paired); as they are when they
    share fewer than 2 seeds (independent groups, Welch)."""
    shared = sorted(set(group["seed"]) & set(base["seed"]))
    if len(shared) >= 2:
        pick = lambda df: df[df["seed"].isin(shared)].sort_values("seed")  # noqa: E731
        return pick(group), pick(base), True
    return group, base, False


# effects.parquet: measure_kind and direction are the Measure and Direction values the verdict was rendered from
# p_value, se, df: the t test behind the interval; then the family columns (families.py)
COLUMNS = ["budget", "label", "reference", "seeds", "measure", "target", "estimate", "low", "high", "method",
           "resolution", "reached", "reference_reached", "verdict", "measure_kind", "direction", "p_value", "se", "df",
           *FAMILY_COLUMNS]


@dataclass(frozen=True)
class Comparison:
    """A schedule against a reference at one budget, on the seeds they share: one verdict."""

    budget: float
    label: str
    reference: str
    seeds: int
    verdict: Verdict

    def row(self) -> dict:
        """Its effects table row (COLUMNS; an accuracy row has no target and no reached counts)."""
        v, e = self.verdict, self.verdict.effect
        row = {"budget": self.budget, "label": self.label, "reference": self.reference, "seeds": self.seeds,
               "measure": v.measure.label, "target": None if v.reach is None else v.reach.target,
               "estimate": e.estimate, "low": e.low, "high": e.high, "method": e.method, "resolution": e.resolution}
        if v.reach is not None:
            row |= {"reached": v.reach.reached, "reference_reached": v.reach.reference_reached}
        return row | {"verdict": render(v), "measure_kind": v.measure.value, "direction": v.direction.value,
                      "p_value": e.p_value, "se": e.se, "df": e.df}


def _verdicts(g: pd.DataFrame, b: pd.DataFrame, paired: bool, parsed: pd.Series, goals: list[float]) -> list[Verdict]:
    """Runs `g` against reference runs `b`: the final accuracy, then compute and seconds to each target."""
    out = [accuracy_verdict(accuracy_difference(b["final_test_acc"].to_numpy(), g["final_test_acc"].to_numpy(),
                                                paired))]
    for t in goals:
        for unit in SPEEDS:
            cg, cb = crossings(parsed[g.index], t, unit), crossings(parsed[b.index], t, unit)
            eff = speedup(cb["point"].to_numpy(), cg["point"].to_numpy(), paired,
                          reference_bracket=(cb["lo"].to_numpy(), cb["hi"].to_numpy()),
                          other_bracket=(cg["lo"].to_numpy(), cg["hi"].to_numpy()))
            out.append(speed_verdict(eff, t, unit, int(cg["reached"].sum()), len(g), int(cb["reached"].sum())))
    return out


def effects_table(runs: pd.DataFrame, targets: list[float] | None = None) -> pd.DataFrame:
    """One row per (budget, schedule, reference, measure, target): estimate, 95% CI, method,
    resolution, a plain verdict and the measure and direction it says. Runs with no test accuracy
    (NaN) are left out; a comparison with fewer than 2 runs a side is skipped (no interval exists)."""
    rows = []
    runs = runs[runs["final_test_acc"].notna()].reset_index(drop=True)  # unique labels for the lookups below
    parsed = curves(runs)  # once per run, not per target, unit and reference
    for budget, at in runs.groupby("budget", sort=True):
        by_label = {label: group for label, group in at.groupby("label")}
        goals = targets or (default_targets(at) if "baseline" in by_label else [])
        for label, group in by_label.items():
            for ref in references(label, by_label):
                if ref != "baseline" and group["hypothesis"].iloc[0] in ("baseline", "budgeted"):
                    continue  # a baseline is compared with the baseline only
                g, b, paired = _pair(group, by_label[ref])
                if min(len(g), len(b)) < 2:
                    continue
                verdicts = _verdicts(g, b, paired, parsed, goals)
                rows += [Comparison(budget, label, ref, len(g), v).row() for v in verdicts]
    table = pd.DataFrame(rows, columns=COLUMNS[:COLUMNS.index(FAMILY_COLUMNS[0])])
    return with_families(table, runs)[COLUMNS]


def of(effects: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    """The rows of the effects table on `measure`."""
    return effects[effects["measure_kind"] == measure.value]


def _budget_label(budget: float) -> str:
    return f"{budget:g} epoch{'s' if budget != 1 else ''}"


def _cell(r: pd.Series | None) -> str:
    """An effect in a budget's table: estimate [95% interval] in points or % saved, or what
    happened when the costs were censored."""
    if r is None:
        return "—"
    measure, direction = Measure(r["measure_kind"]), Direction(r["direction"])
    if direction in (Direction.NOT_REACHED, Direction.INCONCLUSIVE, Direction.UNRESOLVED):
        return r["verdict"]  # censored costs would mislead: say what happened instead
    scale, unit = (1, " pts") if measure is Measure.ACCURACY else (100, "%")
    mark = " (n.s.)" if direction is Direction.NO_DIFFERENCE else ""
    reached = "" if measure is Measure.ACCURACY else reached_note(int(r["reached"]), int(r["seeds"]))
    return f"{scale * r['estimate']:+.2f}{unit} [{scale * r['low']:+.2f}, {scale * r['high']:+.2f}]{mark}{reached}"


def _row(effects: pd.DataFrame, budget: float, label: str, ref: str, measure: Measure) -> pd.Series | None:
    """The effect of `label` against `ref` at `budget` on `measure` (a time to target: the higher target)."""
    rows = of(effects[(effects["budget"] == budget) & (effects["label"] == label) & (effects["reference"] == ref)],
              measure)
    if measure is not Measure.ACCURACY and len(rows):
        rows = rows[rows["target"] == rows["target"].max()]  # the higher target
    return rows.iloc[0] if len(rows) else None


def compact_markdown(effects: pd.DataFrame, runs: pd.DataFrame, budget: float) -> str:
    """At one budget, one row per schedule: mean final accuracy, then against the baseline and
    against the random-order control, the accuracy effect and the compute saved to the higher target."""
    at, eff = runs[runs["budget"] == budget], effects[effects["budget"] == budget]
    top = eff["target"].dropna().max() if len(eff) else float("nan")
    header = ["schedule", "mean final acc", "vs baseline: accuracy", f"vs baseline: compute saved to {top:.2%}",
              "vs random order: accuracy", f"vs random order: compute saved to {top:.2%}"]
    rows = []
    for label, acc in at.groupby("label")["final_test_acc"].mean().sort_values(ascending=False).items():
        described = at.loc[at["label"] == label, "schedule"].iloc[0]
        cells = [_cell(_row(eff, budget, label, ref, m)) for ref in REFERENCES
                 for m in (Measure.ACCURACY, Measure.COMPUTE)]
        rows.append([f"{label}: {described}", f"{acc:.4f}", *cells])
    return markdown_table(header, rows)


def budget_markdown(effects: pd.DataFrame, runs: pd.DataFrame, reference: str = "baseline",
                    measure: Measure = Measure.ACCURACY) -> str:
    """Effect against budget: one row per schedule, one column per budget, the effect against
    `reference` with its 95% interval (accuracy in points, or compute saved to the higher target)."""
    budgets = sorted(runs["budget"].unique())
    labels = [lb for lb in runs.groupby("label")["final_test_acc"].mean().sort_values(ascending=False).index
              if lb != reference]
    rows = []
    for label in labels:
        cells = [_cell(_row(effects, b, label, reference, measure)) for b in budgets]
        if any(c != "—" for c in cells):
            rows.append([label, *cells])
    return markdown_table(["schedule", *(_budget_label(b) for b in budgets)], rows)


def _join(budgets: list[float]) -> str:
    names = [f"{b:g}" for b in budgets]
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{text} epoch{'s' if len(names) > 1 or budgets[0] != 1 else ''}"


def _by_direction(group: pd.DataFrame, measure: Measure, start: tuple[Direction, ...] = ()) -> dict[Direction, list]:
    """The budgets of one schedule against one reference by the direction of its effect on
    `measure` (a time to target: at the higher target), `start`'s directions first."""
    out: dict[Direction, list] = {d: [] for d in start}
    for budget, at in of(group, measure).groupby("budget", sort=True):
        r = at[at["target"] == at["target"].max()] if measure is not Measure.ACCURACY else at
        out.setdefault(Direction(r["direction"].iloc[0]), []).append(budget)
    return out


def verdict_sentences(effects: pd.DataFrame, tuned: bool = True) -> list[str]:
    """Per schedule under test and reference: the budgets where it helps, hurts or makes no
    detectable difference, in final accuracy and in compute to the higher target (`tuned`: whether
    a search tuned the baseline, reference_name)."""
    out = []
    for (label, ref), group in effects.groupby(["label", "reference"], sort=False):
        if is_control(label):
            continue
        acc = _by_direction(group, Measure.ACCURACY, (Direction.HELPS, Direction.HURTS, Direction.NO_DIFFERENCE))
        speed = _by_direction(group, Measure.COMPUTE)
        acc_text = "; ".join(f"{summary_word(Measure.ACCURACY, k)} at {_join(v)}" for k, v in acc.items() if v)
        speed_text = "; ".join(f"{summary_word(Measure.COMPUTE, k)} at {_join(v)}" for k, v in speed.items())
        out.append(f"{label} against the {reference_name(ref, tuned)}: final accuracy: {acc_text}"
                   + (f"; compute to the higher target: {speed_text}." if speed_text else "."))
    return out


def markdown(effects: pd.DataFrame, runs: pd.DataFrame) -> str:
    """Every verdict as a Markdown table, one row per budget, schedule and reference."""
    rows = []
    for (budget, label, ref), group in effects.groupby(["budget", "label", "reference"], sort=False):
        acc, comp, secs = ("; ".join(of(group, m)["verdict"]) for m in (Measure.ACCURACY, *SPEEDS))
        described = runs.loc[(runs["label"] == label) & (runs["budget"] == budget), "schedule"].iloc[0]
        rows.append([_budget_label(budget), f"{label}: {described}", ref, acc, comp, secs])
    return markdown_table(["budget", "schedule", "against", "final accuracy", "compute to target",
                           "seconds to target"], rows)
