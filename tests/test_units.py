"""How pages render numbers (analysis/units.py) and when a plot is drawn (analysis/report.varies)."""

import math

import pandas as pd
import pytest

from tune_growth.analysis.report import varies
from tune_growth.analysis.units import for_page, percent, seconds, si


@pytest.mark.parametrize("value, unit, space, text", [
    (32_500, " examples", False, "32.5k examples"), (2.55e7, "px", True, "25.5 M px"), (512, " examples", False,
                                                                                        "512 examples"),
    (3.251e4, "", False, "32.5k"), (1.2e9, "px", True, "1.2 G px"), (999, "px", True, "999 px"),
])
def test_si_prefixes_with_three_digits(value, unit, space, text):
    assert si(value, unit, space) == text


def test_seconds_minutes_hours_and_percent():
    assert [seconds(v) for v in (5.6, 42.4, 125, 3790)] == ["5.6 s", "42 s", "2 min 05 s", "1 h 03 min"]
    assert percent(0.98254) == "98.25%" and percent(math.nan) == "" and seconds(math.nan) == ""


def test_a_page_table_reads_costs_and_says_never_reached():
    table = pd.DataFrame({"final_val_acc": [0.9825], "examples_to_target": [32_512.0], "compute_to_target": [2.55e7],
                          "wall_seconds_to_target": [math.nan], "schedule": ["1 stage"]})
    row = for_page(table).iloc[0]
    assert (row["final_val_acc"], row["examples_to_target"], row["compute_to_target"]) == ("98.25%", "32.5k examples",
                                                                                          "25.5 M px")
    assert row["wall_seconds_to_target"] == "not reached" and row["schedule"] == "1 stage"
    assert table["examples_to_target"].iloc[0] == 32_512.0  # the table itself keeps its numbers


def test_a_plot_against_an_axis_is_drawn_only_where_it_varies():
    fixed = pd.DataFrame({"experiment": ["a"] * 4, "trial_id": ["t", "t", "u", "u"], "image_size": [28] * 4})
    assert not varies(fixed, "image_size") and not varies(fixed.iloc[:0], "image_size")
    grows = fixed.assign(image_size=[16, 28, 28, 28])
    assert varies(grows, "image_size")
