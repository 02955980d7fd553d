"""The study's declared comparisons: which effects form the primary family, corrected with Holm,
and which are exploratory, with Benjamini–Hochberg q values (inference.py says why each).

**Primary, declared before any run**: final test accuracy of each hypothesis under test (every
label that is not a control) against the tuned baseline and against its matched controls, at
every budget: H1's examples grown in a random order (random_growing), H2's class counts in a
random class order (random_classes), H3's baseline at the same compute (baseline_at_<label>). A
control is matched to a schedule only where it was made from that schedule's stages at that budget
(`matched`: the same stages, or the same class counts, read from the runs), so a combination
compared with H1's random-order control is exploratory. Equal compute holds for the matched H3
control always, and against the baseline when the budget unit is compute.

**Exploratory**: everything else (controls against the baseline, the anti-curricula, every time
to a target). Their q values say how much to trust a "detectable" one among many.

A decision is made for every accuracy row (better / worse / equivalent within ±margin /
inconclusive (±half-width)), from its p values corrected within its family; a time to target
keeps its direction (verdicts.py), which already accounts for censored seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tune_growth.analysis.tables import markdown_table
from tune_growth.schedule.controls import AT_COMPUTE, is_control
from tune_growth.schedule.core import Schedule
from tune_growth.study.inference import (
    ALPHA,
    MARGIN,
    POWER,
    bh_qvalues,
    decide,
    holm,
    minimum_detectable_effect,
    tost_from,
)
from tune_growth.study.verdicts import Measure

FAMILY_COLUMNS = ["family", "p_adjusted", "p_equivalence", "decision", "decision_text"]


def _shape(s: Schedule, classes: bool = True) -> list[tuple]:
    """A schedule's stages as what a matched control keeps: the classes themselves (H1's control), or
    only how many (H2's)."""
    return [(st.classes if classes else len(st.classes), st.per_class, st.image_size, st.share) for st in s.stages]


def matched(runs: pd.DataFrame) -> set[tuple[float, str, str]]:
    """(budget, label, control) for each control made from that label's schedule at that budget:
    random_growing with the same stages (only the examples differ), random_classes with the same
    class counts per stage (only the classes differ), and the label's own baseline_at_<label>.
    Runs without their schedules (no schedule_json) match by name alone: the equal-compute baselines."""
    if "schedule_json" not in runs:
        return {(b, lb, f"{AT_COMPUTE}{lb}") for b, lb in set(zip(runs["budget"], runs["label"]))
                if (b, f"{AT_COMPUTE}{lb}") in set(zip(runs["budget"], runs["label"]))}
    first = runs.groupby(["budget", "label"], sort=False)["schedule_json"].first()
    out = set()
    for (budget, label), text in first.items():
        if is_control(label):
            continue
        s = Schedule.from_json(text)
        for control, same_classes in (("random_growing", True), ("random_classes", False)):
            other = first.get((budget, control))
            if other is not None and _shape(Schedule.from_json(other), same_classes) == _shape(s, same_classes):
                out.add((budget, label, control))
        if (budget, f"{AT_COMPUTE}{label}") in first.index:
            out.add((budget, label, f"{AT_COMPUTE}{label}"))
    return out


def is_primary(budget: float, label: str, hypothesis: str, reference: str, measure_kind: str,
               pairs: set[tuple[float, str, str]]) -> bool:
    """Whether a comparison belongs to the declared primary family (`pairs`: matched())."""
    if measure_kind != Measure.ACCURACY.value or is_control(label) or hypothesis in ("baseline", "budgeted"):
        return False
    return reference == "baseline" or (budget, label, reference) in pairs


def with_families(effects: pd.DataFrame, runs: pd.DataFrame, margin: float = MARGIN,
                  alpha: float = ALPHA) -> pd.DataFrame:
    """`effects` (of `runs`) with FAMILY_COLUMNS: the family of each row, its p value corrected
    within the family (Holm for the primary, BH q for the exploratory), for accuracy rows the
    corrected TOST p value at `margin` points and the decision."""
    out, pairs = effects.copy(), matched(runs)
    hypotheses = runs.groupby("label")["hypothesis"].first().to_dict()
    out["family"] = ["primary" if is_primary(r.budget, r.label, hypotheses.get(r.label, r.label), r.reference,
                                             r.measure_kind, pairs) else "exploratory" for r in out.itertuples()]
    accuracy = out["measure_kind"] == Measure.ACCURACY.value
    raw_equivalence = pd.Series([tost_from(r.estimate, r.se, r.df, margin) if a else np.nan
                                 for r, a in zip(out.itertuples(), accuracy)], index=out.index, dtype=float)
    out["p_adjusted"], out["p_equivalence"] = np.nan, np.nan
    for name, adjust in (("primary", holm), ("exploratory", bh_qvalues)):
        rows = (out["family"] == name) & out["p_value"].notna()
        if rows.any():
            out.loc[rows, "p_adjusted"] = adjust(out.loc[rows, "p_value"].to_numpy())
        rows = (out["family"] == name) & accuracy
        if rows.any():
            out.loc[rows, "p_equivalence"] = adjust(raw_equivalence[rows].to_numpy())
    decisions = [decide(r.estimate, r.p_adjusted, r.p_equivalence, margin, (r.high - r.low) / 2, alpha) if a else None
                 for r, a in zip(out.itertuples(), accuracy)]
    out["decision"] = [None if d is None else d.decision.value for d in decisions]
    out["decision_text"] = [None if d is None else d.text() for d in decisions]
    return out


def detectable_effects(effects: pd.DataFrame, seeds: int, alpha: float = ALPHA, power: float = POWER) -> dict:
    """The minimum detectable accuracy effect (points) at `seeds` seeds: from the median standard
    deviation of the primary comparisons' per-seed differences (se x sqrt(n)), per comparison at
    `alpha` and at the primary family's strictest Holm level (alpha / its size)."""
    primary = effects[(effects["family"] == "primary") & effects["se"].notna()]
    if primary.empty or seeds < 2:
        return {}
    sd = float(np.median(primary["se"] * np.sqrt(primary["seeds"])))
    return {"seeds": seeds, "sd": sd, "comparisons": len(primary), "power": power, "alpha": alpha,
            "per_comparison": minimum_detectable_effect(sd, seeds, alpha, power),
            "family_strictest": minimum_detectable_effect(sd, seeds, alpha / len(primary), power)}


def primary_markdown(effects: pd.DataFrame, margin: float = MARGIN) -> str:
    """The primary family as a Markdown section body: what it is, its table (difference in points
    with its 95% interval, Holm's p, the decision), the minimum detectable effect and how many
    exploratory comparisons pass q < 0.05."""
    primary = effects[effects["family"] == "primary"]
    exploratory = effects[(effects["family"] == "exploratory") & effects["p_adjusted"].notna()]
    text = (f"Fixed in code (study/families.py), not chosen from the results: each hypothesis against the "
            f"baseline and its matched controls, "
            f"final test accuracy, at every budget; Holm-corrected over the family's {len(primary)} comparisons; "
            f"equivalence by two one-sided t tests at ±{margin:g} points.\n\n")
    if primary.empty:
        return text + "No comparison of a hypothesis with its references: the family is empty.\n"
    rows = [[f"{r.budget:g}", r.label, r.reference, f"{r.estimate:+.2f} [{r.low:+.2f}, {r.high:+.2f}]",
             f"{r.p_adjusted:.3g}", r.decision_text] for r in primary.itertuples()]
    text += markdown_table(["budget", "schedule", "against", "difference (points) [95% CI]", "p (Holm)",
                            "decision"], rows)
    seeds = int(primary["seeds"].min())
    mde = detectable_effects(effects, seeds)
    if mde:
        text += (f"\nMinimum detectable effect at {seeds} seeds (80% power, two-sided {ALPHA:.0%}, the median "
                 f"per-seed spread of the differences, {mde['sd']:.2f} points): {mde['per_comparison']:.2f} points "
                 f"per comparison, {mde['family_strictest']:.2f} at the family's strictest Holm level.\n")
    found = int((exploratory["p_adjusted"] < ALPHA).sum())
    return text + (f"\nExploratory: {len(exploratory)} other comparisons (below); {found} with a Benjamini–Hochberg "
                   f"q value under {ALPHA:g}.\n")
