"""Your own model and your own images, each through a whole search from the command line, in a
folder of your own: the model imported by path on every trial's worker, the image tree decoded once
and its class tree given to H2."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from dataset_files import write_user_folder

HERE = Path(__file__).resolve().parent
TREE = {"parent": {"animal": "thing", "vehicle": "thing", "cat": "animal", "dog": "animal", "car": "vehicle",
                   "truck": "vehicle"}}


def search(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tune_growth.search", *args, "--storage", "out", "--num-cpus", "2"],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture
def yours(tmp_path):
    """A user's folder: their model module beside them and a folder of images with its class tree."""
    shutil.copy(HERE / "user_model.py", tmp_path / "user_model.py")
    write_user_folder(tmp_path / "images", per_class=10)
    (tmp_path / "images" / "hierarchy.json").write_text(json.dumps(TREE))
    return tmp_path


CASES = {  # what is the user's, and the search that runs it
    "model": ("h1", "--model", "user_model:small_cnn", "--dataset", "digits", "--width", "0.5"),
    "images": ("h2", "--dataset", "folder", "--data-root", "images", "--image-size", "16", "--model", "cnn"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_your_model_or_images_run_a_whole_search(case, yours):
    proc = search(yours, *CASES[case], "--trials", "3", "--budget", "0.5", "--evals", "2", "--name", case)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    trials = pd.read_parquet(yours / "out" / case / "trials.parquet")
    assert len(trials) == 3 and (trials["status"] == "completed").all()  # each worker imported or read it
    searched = json.loads((yours / "out" / case / "search.json").read_text())
    if case == "model":
        assert searched["model"] == "user_model:small_cnn"
    else:
        assert searched["dataset"]["root"] == str(yours / "images") and searched["dataset"]["image_size"] == 16
        assert (yours / "images" / ".tune_growth_cache" / "folder_16px.pt").is_file()


def test_a_one_group_model_cannot_fine_tune_and_says_so_before_ray(yours):
    proc = search(yours, "finetune", "--model", "user_model:plain", "--dataset", "digits")
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and "freeze_to=-1 is invalid for model 'user_model:plain' of 1 layer group(s)" in last
    assert not (yours / "out").exists()
