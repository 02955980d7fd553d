"""Expected best validation accuracy against search effort (Dodge et al., "Show Your Work", EMNLP
2019): for n = 1 .. N, the expected maximum of n trials drawn (with replacement) from a search's
N trials, with a bootstrap band over the trials. A search space with more knobs gets more chances
at a lucky best-of-N; comparing the curves at equal n compares the spaces at equal effort, and a
curve still rising at N says more trials would still change the answer.

Which trials count: every trial of the search that ran to its end (completed) or diverged (a
diverged trial is a real outcome of spending a trial; it counts at its sentinel accuracy), not the
baseline control (trial 0 is not drawn from the space) and not stopped or screened runs (their
accuracy is at a smaller budget).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tune_growth.analysis.plots import colours
from tune_growth.analysis.tables import markdown_table

LEVEL = 0.95


def expected_max(values: np.ndarray, n_max: int | None = None) -> np.ndarray:
    """E[max of n draws with replacement from `values`] for n = 1 .. n_max (default len(values)):
    with v sorted ascending, sum_i v_i ((i/N)^n - ((i-1)/N)^n)."""
    v = np.sort(np.asarray(values, dtype=float))
    if len(v) == 0:
        raise ValueError("expected_max needs at least one value")
    big_n = len(v)
    n = np.arange(1, (n_max or big_n) + 1)[:, None]
    cdf = np.arange(1, big_n + 1) / big_n
    weights = cdf[None, :] ** n - np.concatenate([[0.0], cdf[:-1]])[None, :] ** n
    return weights @ v


def expected_max_band(values: np.ndarray, n_boot: int = 2000, level: float = LEVEL,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(curve, low, high) for n = 1 .. N: the curve from the trials, and a percentile band from
    resampling the trials (seeded)."""
    v = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    boots = np.stack([expected_max(v[rng.integers(0, len(v), len(v))]) for _ in range(n_boot)])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(boots, [tail, 100 - tail], axis=0)
    return expected_max(v), low, high


def search_values(trials: pd.DataFrame) -> pd.Series:
    """The trials that count (see the module's doc), as validation accuracies."""
    counted = trials["status"].isin(["completed", "diverged"]) & ~trials["is_control"].astype(bool)
    return trials.loc[counted, "final_val_acc"].astype(float)


def expected_best_table(trials: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """One row per (experiment, n): the expected best validation accuracy of n trials and its
    band; `space` is the experiment's main hypothesis (the most common one among its trials)."""
    rows = []
    for exp, group in trials.groupby("experiment", sort=True):
        values = search_values(group)
        if values.empty:
            continue
        space = group.loc[~group["is_control"].astype(bool), "hypothesis"].mode().iloc[0]
        curve, low, high = expected_max_band(values.to_numpy(), seed=seed)
        rows += [{"experiment": exp, "space": space, "n": n + 1, "trials": len(values), "expected_best": curve[n],
                  "low": low[n], "high": high[n]} for n in range(len(values))]
    return pd.DataFrame(rows, columns=["experiment", "space", "n", "trials", "expected_best", "low", "high"])


def at_effort(table: pd.DataFrame, efforts=(1, 4, 8, 16)) -> pd.DataFrame:
    """The table at a few trial counts and at all of its trials, one row per experiment:
    'mean [low, high]' per n, in %."""
    out = {}
    for exp, group in table.groupby("experiment", sort=False):
        g = group.set_index("n")

        def cell(n: int) -> str:
            return f"{100 * g.at[n, 'expected_best']:.2f} [{100 * g.at[n, 'low']:.2f}, {100 * g.at[n, 'high']:.2f}]"
        out[exp] = {"space": g["space"].iloc[0], "trials": int(g["trials"].iloc[0]),
                    **{f"n={n}": cell(n) if n in g.index else "—" for n in efforts}, "n=all": cell(g.index.max())}
    return pd.DataFrame.from_dict(out, orient="index").rename_axis("experiment")


def expected_best_figure(table: pd.DataFrame, title: str = "Expected best validation accuracy") -> Figure:
    """One curve per search with its band, against the number of trials (log axis)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    cmap = colours(table["space"])
    for exp, group in table.groupby("experiment", sort=True):
        space = group["space"].iloc[0]
        name = exp if exp == space else f"{exp} (mostly {space})"
        ax.plot(group["n"], 100 * group["expected_best"], color=cmap[space], label=name)
        ax.fill_between(group["n"], 100 * group["low"], 100 * group["high"], color=cmap[space], alpha=0.12)
    ax.set(xscale="log", xlabel="trials drawn from the search (n)", ylabel="expected best val. accuracy (%)",
           title=f"{title} (95% bootstrap band)")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def effort_markdown(table: pd.DataFrame, efforts=(1, 4, 8, 16)) -> str:
    """at_effort() as a Markdown table."""
    wide = at_effort(table, efforts)
    cols = list(wide.columns)
    return markdown_table(["search", *cols], ([str(exp), *(str(row[c]) for c in cols)] for exp, row in wide.iterrows()))
