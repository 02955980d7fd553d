"""Data flows one way; only the Ray drivers (trial, search, study) import Ray."""

import subprocess
import sys

BELOW_RAY = ["tune_growth.data", "tune_growth.augment", "tune_growth.models", "tune_growth.resnets",
             "tune_growth.groups", "tune_growth.pretrained", "tune_growth.precompute", "tune_growth.schedule",
             "tune_growth.builders", "tune_growth.selection", "tune_growth.lr_finder", "tune_growth.trainer",
             "tune_growth.train", "tune_growth.results", "tune_growth.plots", "tune_growth.plots_model",
             "tune_growth.report", "tune_growth.study.stats", "tune_growth.study.controls"]


def test_nothing_below_the_drivers_imports_ray():
    code = "import sys\n" + "".join(f"import {m}\n" for m in BELOW_RAY) + "print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
