"""Numbers as a reader wants them on a page: '32.5k examples', '25.5 M px', '5.6 s', '98.25%'.
The tables keep their numbers (notebooks compute with them); only the rendered pages use these."""

from __future__ import annotations

import math

import pandas as pd

SI = ((1e9, "G"), (1e6, "M"), (1e3, "k"))


def si(value: float, unit: str = "", space: bool = False) -> str:
    """`value` with an SI prefix and three significant digits, e.g. si(32500, ' examples') is
    '32.5k examples' and si(2.55e7, 'px', space=True) is '25.5 M px'; an empty string for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    for scale, prefix in SI:
        if abs(value) >= scale:
            return f"{value / scale:.3g}{' ' if space else ''}{prefix}{' ' if space and unit else ''}{unit}"
    return f"{value:.3g}{' ' if space and unit else ''}{unit}"


def seconds(value: float) -> str:
    """'5.6 s', '2 min 05 s', '1 h 03 min'; an empty string for None/NaN."""
    if value is None or math.isnan(value):
        return ""
    if value < 60:
        return f"{value:.2g} s" if value < 10 else f"{value:.0f} s"
    minutes, secs = divmod(int(round(value)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def percent(value: float) -> str:
    """A fraction as '98.25%'; an empty string for None/NaN."""
    return "" if value is None or math.isnan(value) else f"{100 * value:.2f}%"


# column -> how a page renders it (examples seen, examples x pixels, training seconds, accuracies)
FORMATS = {"final_val_acc": percent, "final_test_acc": percent, "best_val_acc": percent,
           "examples_to_target": lambda v: si(v, " examples"), "compute_to_target": lambda v: si(v, "px", space=True),
           "wall_seconds_to_target": seconds}


def for_page(table: pd.DataFrame, missing: str = "not reached") -> pd.DataFrame:
    """`table` with its FORMATS columns as text (`missing` where a cost is null: never reached)."""
    out = table.copy()
    for column, fmt in FORMATS.items():
        if column in out:
            out[column] = [missing if pd.isna(v) else fmt(float(v)) for v in out[column]]
    return out
