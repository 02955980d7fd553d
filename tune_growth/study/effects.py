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

import numpy as np
import pandas as pd

from tune_growth.study.stats import accuracy_difference, accuracy_verdict, crossing, speed_verdict, speedup

REFERENCES = ("baseline", "random_growing")
REFERENCE_NAMES = {"baseline": "tuned baseline", "random_growing": "random-order control"}
CONTROLS = ("baseline", "random_growing", "budgeted")
AXES = {"compute": 0, "seconds": 1}  # column of curve_json: [compute, training seconds, test accuracy]


def is_control(label: str) -> bool:
    return label in CONTROLS or label.startswith("anti_")


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


def crossings(parsed: pd.Series, target: float, unit: str) -> pd.DataFrame:
    """Per run (curves() of them, in their order): point, lo, hi and reached for the first
    crossing of `target`."""
    col = AXES[unit]
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


COLUMNS = ["budget", "label", "reference", "seeds", "measure", "target", "estimate", "low", "high", "method",
           "resolution", "reached", "reference_reached", "verdict"]


def effects_table(runs: pd.DataFrame, targets: list[float] | None = None) -> pd.DataFrame:
    """One row per (budget, schedule, reference, measure, target): estimate, 95% CI, method,
    resolution and a plain verdict. Runs with no test accuracy (NaN) are left out; a comparison
    with fewer than 2 runs a side is skipped (no interval exists)."""
    rows = []
    runs = runs[runs["final_test_acc"].notna()].reset_index(drop=True)  # unique labels for the lookups below
    parsed = curves(runs)  # once per run, not per target, unit and reference
    for budget, at in runs.groupby("budget", sort=True):
        by_label = {label: group for label, group in at.groupby("label")}
        goals = targets or (default_targets(at) if "baseline" in by_label else [])
        for label, group in by_label.items():
            for ref in (r for r in REFERENCES if r in by_label and r != label):
                if ref == "random_growing" and group["hypothesis"].iloc[0] in ("baseline", "budgeted"):
                    continue
                g, b, paired = _pair(group, by_label[ref])
                if min(len(g), len(b)) < 2:
                    continue
                common = {"budget": budget, "label": label, "reference": ref, "seeds": len(g)}
                acc = accuracy_difference(b["final_test_acc"].to_numpy(), g["final_test_acc"].to_numpy(), paired)
                rows.append({**common, "measure": "final accuracy (points)", "target": None, "estimate": acc.estimate,
                             "low": acc.low, "high": acc.high, "method": acc.method, "resolution": None,
                             "verdict": accuracy_verdict(acc)})
                for t in goals:
                    for unit in AXES:
                        cg, cb = crossings(parsed[g.index], t, unit), crossings(parsed[b.index], t, unit)
                        eff = speedup(cb["point"].to_numpy(), cg["point"].to_numpy(), paired,
                                      reference_bracket=(cb["lo"].to_numpy(), cb["hi"].to_numpy()),
                                      other_bracket=(cg["lo"].to_numpy(), cg["hi"].to_numpy()))
                        reached, ref_reached = int(cg["reached"].sum()), int(cb["reached"].sum())
                        rows.append({**common, "measure": f"{unit} saved to target", "target": t,
                                     "estimate": eff.estimate, "low": eff.low, "high": eff.high, "method": eff.method,
                                     "resolution": eff.resolution, "reached": reached,
                                     "reference_reached": ref_reached,
                                     "verdict": speed_verdict(eff, t, unit, reached, len(g), ref_reached)})
    return pd.DataFrame(rows, columns=COLUMNS)


def _budget_label(budget: float) -> str:
    return f"{budget:g} epoch{'s' if budget != 1 else ''}"


def _cell(r: pd.Series | None, measure: str) -> str:
    if r is None:
        return "—"
    if r["verdict"].startswith(("never reached", "inconclusive", "unresolved")):
        return r["verdict"]  # censored costs would mislead: say what happened instead
    scale, unit = (1, " pts") if measure == "final" else (100, "%")
    mark = "" if r["low"] > 0 or r["high"] < 0 else " (n.s.)"
    reached = f" ({r['verdict'].rsplit('(', 1)[-1]}" if r["verdict"].endswith("seeds reached it)") else ""
    return f"{scale * r['estimate']:+.2f}{unit} [{scale * r['low']:+.2f}, {scale * r['high']:+.2f}]{mark}{reached}"


def _row(effects: pd.DataFrame, budget, label, ref, measure) -> pd.Series | None:
    rows = effects[(effects["budget"] == budget) & (effects["label"] == label) & (effects["reference"] == ref)
                   & effects["measure"].str.startswith(measure)]
    if measure != "final" and len(rows):
        rows = rows[rows["target"] == rows["target"].max()]  # the higher target
    return rows.iloc[0] if len(rows) else None


def compact_markdown(effects: pd.DataFrame, runs: pd.DataFrame, budget: float) -> str:
    """At one budget, one row per schedule: mean final accuracy, then against the baseline and
    against the random-order control, the accuracy effect and the compute saved to the higher target."""
    at, eff = runs[runs["budget"] == budget], effects[effects["budget"] == budget]
    top = eff["target"].dropna().max() if len(eff) else float("nan")
    lines = [f"| schedule | mean final acc | vs baseline: accuracy | vs baseline: compute saved to {top:.2%} "
             f"| vs random order: accuracy | vs random order: compute saved to {top:.2%} |",
             "| --- | --- | --- | --- | --- | --- |"]
    for label, acc in at.groupby("label")["final_test_acc"].mean().sort_values(ascending=False).items():
        described = at.loc[at["label"] == label, "schedule"].iloc[0]
        cells = [_cell(_row(eff, budget, label, ref, m), m) for ref in REFERENCES for m in ("final", "compute")]
        lines.append(f"| {label}: {described} | {acc:.4f} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def budget_markdown(effects: pd.DataFrame, runs: pd.DataFrame, reference: str = "baseline",
                    measure: str = "final") -> str:
    """Effect against budget: one row per schedule, one column per budget, the effect against
    `reference` with its 95% interval (accuracy in points, or compute saved to the higher target)."""
    budgets = sorted(runs["budget"].unique())
    labels = [lb for lb in runs.groupby("label")["final_test_acc"].mean().sort_values(ascending=False).index
              if lb != reference]
    lines = ["| schedule | " + " | ".join(_budget_label(b) for b in budgets) + " |",
             "| --- |" + " --- |" * len(budgets)]
    for label in labels:
        cells = [_cell(_row(effects, b, label, reference, measure), measure) for b in budgets]
        if any(c != "—" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _join(budgets: list[float]) -> str:
    names = [f"{b:g}" for b in budgets]
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{text} epoch{'s' if len(names) > 1 or budgets[0] != 1 else ''}"


def verdict_sentences(effects: pd.DataFrame) -> list[str]:
    """Per schedule under test and reference: the budgets where it helps, hurts or makes no
    detectable difference, in final accuracy and in compute to the higher target."""
    out = []
    for (label, ref), group in effects.groupby(["label", "reference"], sort=False):
        if is_control(label):
            continue
        acc, speed = {"helps": [], "hurts": [], "no detectable difference": []}, {}
        for budget, at in group.groupby("budget", sort=True):
            a = at[at["measure"].str.startswith("final")].iloc[0]
            acc["helps" if a["low"] > 0 else "hurts" if a["high"] < 0 else "no detectable difference"].append(budget)
            s = at[at["measure"].str.startswith("compute")]
            if len(s):
                s = s[s["target"] == s["target"].max()].iloc[0]
                v = s["verdict"]
                kind = ("sooner" if v.startswith("reaches") else "slower" if v.startswith("slower") else
                        "no detectable difference" if v.startswith("no detectable") else
                        "unresolved" if v.startswith("unresolved") else
                        "never reached" if v.startswith("never") else "inconclusive (missed by some seeds)")
                speed.setdefault(kind, []).append(budget)
        acc_text = "; ".join(f"{k} at {_join(v)}" for k, v in acc.items() if v)
        speed_text = "; ".join(f"{k} at {_join(v)}" for k, v in speed.items())
        against = f"the {REFERENCE_NAMES[ref]}"
        out.append(f"{label} against {against}: final accuracy: {acc_text}"
                   + (f"; compute to the higher target: {speed_text}." if speed_text else "."))
    return out


def markdown(effects: pd.DataFrame, runs: pd.DataFrame) -> str:
    """Every verdict as a Markdown table, one row per budget, schedule and reference."""
    lines = ["| budget | schedule | against | final accuracy | compute to target | seconds to target |",
             "| --- | --- | --- | --- | --- | --- |"]
    for (budget, label, ref), group in effects.groupby(["budget", "label", "reference"], sort=False):
        acc = group[group["measure"].str.startswith("final")]["verdict"].iloc[0]
        comp = "; ".join(group[group["measure"].str.startswith("compute")]["verdict"])
        secs = "; ".join(group[group["measure"].str.startswith("seconds")]["verdict"])
        described = runs.loc[(runs["label"] == label) & (runs["budget"] == budget), "schedule"].iloc[0]
        lines.append(f"| {_budget_label(budget)} | {label}: {described} | {ref} | {acc} | {comp} | {secs} |")
    return "\n".join(lines) + "\n"
