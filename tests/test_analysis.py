"""Analysis on the results of real (tiny) searches: plots, the HTML report in headless Chromium,
the notebooks executed, and the Parquet files read alike by pandas, pyarrow and DuckDB."""

import json
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
from conftest import tiny_search

from tune_growth.analysis import plots
from tune_growth.analysis.model_plots import confusion_matrix, grad_cam, load_trial_model
from tune_growth.analysis.report import build_report, load, summary_table, time_to_target
from tune_growth.analysis.report import main as report_main
from tune_growth.data import DataSpec, load_dataset
from tune_growth.results.export import export
from tune_growth.search.run import run_search

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "analysis").glob("*.ipynb"))


@pytest.fixture(scope="module")
def results(ray_session, tmp_path_factory):
    """Two tiny searches (an H3 space and the baseline space) in one results folder."""
    storage = tmp_path_factory.mktemp("results")
    data = load_dataset("mnist5k")
    for space, name in (("h3", "h3_tiny"), ("baseline", "baseline_tiny")):
        opts = tiny_search(storage, name, space)
        run_search(opts, data, DataSpec("mnist5k"))
        export(opts.experiment_dir)  # what the search's CLI does at its end (search/summary.py); loading never writes
    return storage


@pytest.fixture(scope="module")
def report(results, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return build_report(results, out, target=0.9)


def test_report_writes_every_plot_and_a_self_contained_page(report):
    out = report.parent
    pngs = sorted(p.stem for p in out.glob("*.png"))
    expected = {"loss_vs_step", "loss_vs_examples", "loss_vs_wall", "loss_vs_image_size", "accuracy_vs_cost", "asha",
                "history_h3_tiny", "history_baseline_tiny", "importance_h3_tiny", "lr_finder", "confusion", "grad_cam", "expected_best"}
    assert expected <= set(pngs) and any(p.startswith("schedule_") for p in pngs)
    page = report.read_text()
    assert page.count("<img") == len(pngs) and page.count('src="data:image/png;base64,') == len(pngs)
    assert "http://" not in page and "https://" not in page  # nothing to fetch: opens without a server
    assert "Best schedule per hypothesis" in page and "h3" in page and "baseline" in page
    tables = page.split("<h2>Plots</h2>")[0]  # costs and accuracies as a reader wants them (analysis/units.py)
    assert "e+0" not in tables and "%</td>" in tables
    assert "Expected best against search effort" in page and "n=1" in page  # the searches at equal effort


def chromium_driver():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1300,2000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def test_report_renders_in_headless_chromium_with_every_image_loaded(report):
    browser = chromium_driver()
    try:
        browser.get(report.as_uri())
        loaded = browser.execute_script(
            "return Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
        rows = browser.execute_script("return document.querySelectorAll('table.summary tbody tr').length")
        # the first plot's top in screenshot pixels (CSS pixels x the device pixel ratio)
        first_image_top = int(browser.execute_script(
            "return document.images[0].getBoundingClientRect().top * window.devicePixelRatio"))
        browser.save_screenshot(str(report.parent / "screenshot.png"))
    finally:
        browser.quit()
    assert len(loaded) == len(list(report.parent.glob("*.png"))) - 1 and all(loaded)  # minus the screenshot
    assert rows >= 2  # h3 and baseline
    assert_drawn(report.parent / "screenshot.png", first_image_top)


def assert_drawn(path: Path, first_image_top: int) -> None:
    """The screenshot shows a page, not a blank or an error: the window's size, text and tables on
    a white ground, and the first plot (matplotlib's many shades) where the page put it."""
    from PIL import Image

    shot = np.asarray(Image.open(path).convert("RGB"))
    height, width, _ = shot.shape
    assert width >= 1200 and height >= 1800  # --window-size=1300,2000, less the browser's frame
    ink = (shot < 200).any(axis=2)  # pixels well off the white ground
    assert 0.005 < ink.mean() < 0.5, f"ink covers {ink.mean():.1%} of the screenshot"
    assert 0 < first_image_top < height - 300, f"the first plot starts at {first_image_top} px, out of view"
    assert ink[: first_image_top].mean() > 0.002  # the heading and tables above the plots
    plot = shot[first_image_top: first_image_top + 300].reshape(-1, 3)
    assert len(np.unique(plot, axis=0)) > 100  # anti-aliased lines and fills: a drawn plot, not a hole


def test_stored_notebooks_have_no_outputs():
    assert len(NOTEBOOKS) >= 3
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") and not cell.get("execution_count") for cell in nb.cells
                   if cell.cell_type == "code"), path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_runs_against_real_results(path, results, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("TUNE_GROWTH_RESULTS", str(results))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type == "display_data" and "image/png" in o.data for o in outputs)  # it drew plots


def test_parquet_reads_alike_from_pandas_pyarrow_and_duckdb(results):
    duckdb = pytest.importorskip("duckdb")
    for exp in ("h3_tiny", "baseline_tiny"):
        path = results / exp / "trials.parquet"
        frame = pd.read_parquet(path)
        pd.testing.assert_frame_equal(frame, pq.read_table(path).to_pandas())
        sql = duckdb.sql(f"SELECT status, count(*) AS n, max(final_test_acc) AS best FROM '{path}' "
                         "GROUP BY status ORDER BY status").df()
        expected = frame.groupby("status").agg(n=("trial_id", "size"), best=("final_test_acc", "max")).reset_index()
        assert sql["status"].tolist() == expected["status"].tolist() and sql["n"].tolist() == expected["n"].tolist()
        assert sql["best"].tolist() == pytest.approx(expected["best"].tolist(), nan_ok=True)  # stopped: no test


def test_plot_functions_on_real_results(results):
    trials, metrics, exps = load(results, refresh=False)
    for fig in (plots.loss_curves(metrics, "examples"), plots.loss_vs_image_size(metrics),
                plots.accuracy_vs_cost(metrics, trials), plots.asha_view(metrics, trials),
                plots.search_history(trials), plots.schedule_timeline(trials["schedule_json"].dropna().iloc[-1])):
        assert fig.axes
        plt.close(fig)
    front = plots.pareto(metrics, "compute")
    assert front["frontier"].is_monotonic_increasing and front["compute"].is_monotonic_increasing
    table = summary_table(trials, metrics, 0.5)
    assert {"h3", "baseline"} <= set(table.index) and (table["final_test_acc"] > 0.5).all()
    with pytest.raises(ValueError, match="x='epochs' is invalid"):
        plots.loss_curves(metrics, "epochs")


def test_the_report_and_the_export_agree_on_when_a_trial_first_reached_a_target(results):
    trials, metrics, _ = load(results, refresh=False)
    target = 0.9  # one of the export's targets (TARGETS)
    hits = time_to_target(metrics, target).set_index(["experiment", "trial_id"])
    exported = trials.set_index(["experiment", "trial_id"])[f"examples_to_{target}"]
    assert 0 < len(hits) and exported.notna().sum() == len(hits)
    for key, examples in exported.dropna().items():
        assert hits.loc[key, "examples_to_target"] == examples


def test_model_plots_from_the_best_checkpoint(results):
    data = load_dataset("mnist5k")
    trials, _, _ = load(results, refresh=False)
    best = trials[trials["status"] == "completed"].sort_values("final_val_acc").iloc[-1]
    model, schedule = load_trial_model(results / best["experiment"] / f"trial_{best['trial_id']}", data)
    cm = confusion_matrix(model, data, schedule.stages[-1].image_size)
    assert cm.sum() == len(data.test_y) and abs(cm.trace() / cm.sum() - best["final_test_acc"]) < 1e-6
    x = torch.randn(3, 1, 28, 28)
    cams = grad_cam(model, x)
    assert cams.shape == (3, 28, 28) and float(cams.min()) >= 0 and float(cams.amax((1, 2)).min()) == pytest.approx(1.0)


def test_report_cli_bad_input(tmp_path, capsys):
    assert report_main([str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert report_main([str(tmp_path)]) == 2  # a folder with no experiment in it
    assert "no experiment with trials" in capsys.readouterr().err


def test_results_of_schema_version_1_give_a_one_line_error(tmp_path, capsys):
    from tune_growth.results.export import SchemaError, read_experiment
    from tune_growth.study.__main__ import main as study_main

    exp = tmp_path / "old" / "h1_old"
    exp.mkdir(parents=True)
    pd.DataFrame({"schema_version": [1], "trial_id": ["a"], "final_test_acc": [0.98]}).to_parquet(exp / "trials.parquet")
    pd.DataFrame({"schema_version": [1], "trial_id": ["a"]}).to_parquet(exp / "metrics.parquet")
    assert report_main([str(tmp_path / "old"), "--no-model-plots"]) == 2
    assert study_main(["--results", str(tmp_path / "old")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all("schema version 1" in e and "re-run the search" in e for e in errors)
    trial = tmp_path / "raw" / "trial_a"  # a version-1 search's own trial folder, re-exported
    trial.mkdir(parents=True)
    (trial / "params.json").write_text(json.dumps({"hypothesis": "h1"}))
    (trial / "result.json").write_text(json.dumps({"step": 1, "test_acc": 0.5, "trial_id": "a"}) + "\n")
    with pytest.raises(SchemaError, match="schema version 1"):
        read_experiment(tmp_path / "raw")
