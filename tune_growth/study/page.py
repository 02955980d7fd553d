"""study.html, answer first: the primary comparisons (each hypothesis against its references,
Holm-corrected, with its decision) and the minimum detectable effect, the verdict sentences, the
effect-against-budget plot, the frontier searches' hypervolumes, the other plots, and last, folded, every effect with rounded figures."""

from __future__ import annotations

import html

import pandas as pd

from tune_growth.analysis.fronts import for_page, table_intro
from tune_growth.analysis.report import figures_html, html_table, page_html
from tune_growth.study.families import detectable_effects

FULL_COLUMNS = ["budget", "label", "reference", "family", "measure", "target", "estimate", "low", "high",
                "p_adjusted", "decision_text", "verdict"]


def _primary(effects: pd.DataFrame) -> pd.DataFrame:
    """The primary family as the page shows it: the difference and its interval in points, Holm's p."""
    rows = effects[effects["family"] == "primary"]
    return pd.DataFrame({"budget": rows["budget"], "schedule": rows["label"], "against": rows["reference"],
                         "difference (points) [95% CI]": [f"{r.estimate:+.2f} [{r.low:+.2f}, {r.high:+.2f}]"
                                                          for r in rows.itertuples()],
                         "p (Holm)": [f"{p:.3g}" for p in rows["p_adjusted"]], "decision": rows["decision_text"]})


def _rounded(effects: pd.DataFrame) -> pd.DataFrame:
    """Every effect, its numbers rounded to what the measurements resolve (3 significant digits)."""
    table = effects[[c for c in FULL_COLUMNS if c in effects]].copy()
    for column in ("estimate", "low", "high", "p_adjusted"):
        table[column] = [None if pd.isna(v) else float(f"{v:.3g}") for v in table[column]]
    table["target"] = table["target"].astype(object).where(table["target"].notna(), "")
    return table


def study_page(title: str, effects: pd.DataFrame, sentences: list[str], images: dict[str, tuple[bytes, str]],
               warning: str | None, fronts: dict[str, pd.DataFrame] | None = None) -> str:
    """The page (see the module docstring); `images` name -> (PNG, caption), study_budget first;
    `fronts` the frontier searches' hypervolume tables per cost (analysis/fronts.py)."""
    parts = [f"<p><strong>{html.escape(warning)}</strong></p>" if warning else ""]
    primary = _primary(effects)
    parts.append("<h2>The answer: primary comparisons</h2><p>Each hypothesis against the baseline and its "
                 "matched controls, final test accuracy, Holm-corrected over the family; equivalence by two one-sided "
                 "tests at ±0.5 points.</p>" + (html_table(primary) if len(primary) else "<p>No primary comparison.</p>"))
    seeds = effects.loc[effects["family"] == "primary", "seeds"]
    mde = detectable_effects(effects, int(seeds.min())) if len(seeds) else {}
    if mde:
        parts.append(f"<p>Minimum detectable effect at {mde['seeds']} seeds (80% power, two-sided 5%): "
                     f"{mde['per_comparison']:.2f} points per comparison, {mde['family_strictest']:.2f} at the family's "
                     "strictest Holm level.</p>")
    parts.append("<h2>Verdicts (each comparison alone, uncorrected)</h2><ul>"
                 + "".join(f"<li>{html.escape(s)}</li>" for s in sentences) + "</ul>")
    first = {k: images[k] for k in ("study_budget",) if k in images}
    parts.append("<h2>Effect against budget</h2>" + figures_html(first))
    for cost, table in (fronts or {}).items():
        parts.append(f"<h2>Fronts against {html.escape(cost)}</h2><p>{html.escape(table_intro(cost, table))}</p>"
                     + html_table(for_page(table)))
    parts.append("<h2>Plots</h2>" + figures_html({k: v for k, v in images.items() if k not in first}))
    parts.append(f"<details><summary>Every effect ({len(effects)} rows, with 95% intervals)</summary>"
                 f"{html_table(_rounded(effects))}</details>")
    return page_html(f"tune_growth study: {title}", "".join(parts))
