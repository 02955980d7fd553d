"""`python -m tune_growth.analysis RESULTS_DIR [--out DIR]`: every plot as PNG plus one
self-contained HTML page (images embedded, opens without a server) with a summary table.

RESULTS_DIR is one experiment (<storage>/<name>) or a folder of several (e.g. results/, holding
the h1, h2, h3 and baseline searches); their trials are compared side by side.
"""

from __future__ import annotations

import base64
import html
import json
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from tune_growth.analysis import plots
from tune_growth.analysis.expected_best import at_effort, expected_best_figure, expected_best_table
from tune_growth.analysis.fronts import chance, front_figures, table_intro
from tune_growth.analysis.fronts import for_page as fronts_for_page
from tune_growth.analysis.units import for_page
from tune_growth.cli import OneLineParser, cwd_importable, fail
from tune_growth.io import atomic_write_text
from tune_growth.results.export import searcher_state
from tune_growth.results.load import load
from tune_growth.train.records import first_reaching

COSTS = ("examples", "compute", "wall_seconds")  # what reaching a target cost, as a record counts it


def time_to_target(metrics: pd.DataFrame, target: float) -> pd.DataFrame:
    """Per trial that reached `target` validation accuracy, what its first record to reach it had
    spent: examples, compute, seconds of training."""
    columns = [f"{cost}_to_target" for cost in COSTS]
    rows = []
    for (experiment, trial_id), trial in metrics.sort_values("step").groupby(["experiment", "trial_id"]):
        hit = first_reaching(trial.to_dict("records"), target, "val_acc")
        if hit is not None:
            rows.append([experiment, trial_id, *(hit[cost] for cost in COSTS)])
    return pd.DataFrame(rows, columns=["experiment", "trial_id", *columns])


def summary_table(trials: pd.DataFrame, metrics: pd.DataFrame, target: float) -> pd.DataFrame:
    """Best completed trial per hypothesis, chosen on validation accuracy: its validation and test
    accuracy, cost to `target` validation accuracy, schedule; plus counts."""
    done = trials[trials["status"] == "completed"].merge(time_to_target(metrics, target), how="left",
                                                          on=["experiment", "trial_id"])
    best = done.sort_values("final_val_acc", ascending=False).groupby("hypothesis", sort=False).head(1)
    counts = trials.groupby("hypothesis").agg(trials=("trial_id", "size"),
                                              completed=("status", lambda s: int((s == "completed").sum())))
    table = best.set_index("hypothesis")[["final_val_acc", "final_test_acc", "examples_to_target", "compute_to_target",
                                          "wall_seconds_to_target", "schedule"]].join(counts)
    return table.sort_values("final_val_acc", ascending=False)


def varies(metrics: pd.DataFrame, column: str) -> bool:
    """Whether `column` takes more than one value within some trial: a plot against it says something."""
    return bool(len(metrics)) and bool((metrics.groupby(["experiment", "trial_id"])[column].nunique() > 1).any())


def figures(trials: pd.DataFrame, metrics: pd.DataFrame, exps: list[Path], effort: pd.DataFrame,
            model_plots: bool = True) -> dict:
    """name -> (Figure, caption), in report order; `effort`: expected_best_table(trials), which the
    report's table reads too."""
    figs = {"loss_vs_step": (plots.loss_curves(metrics, "step"), "Train and validation loss against optimizer steps."),
            "loss_vs_examples": (plots.loss_curves(metrics, "examples"), "The same against examples seen."),
            "loss_vs_wall": (plots.loss_curves(metrics, "wall_seconds"), "The same against training time (evaluation excluded)."),
            "accuracy_vs_cost": (plots.accuracy_vs_cost(metrics, trials), "Time to accuracy, with the Pareto frontier."),
            "asha": (plots.asha_view(metrics, trials), "Every trial over its budget; × where ASHA stopped it.")}
    if varies(metrics, "image_size"):  # only where some trial's images change size (H3)
        figs["loss_vs_image_size"] = (plots.loss_vs_image_size(metrics), "Loss against the image size in use (H3).")
    if not effort.empty:
        figs["expected_best"] = (expected_best_figure(effort), "Expected best validation accuracy of n trials drawn "
                                 "from each search (Dodge et al. 2019): the searches compared at equal effort.")
    for exp in exps:
        exp_trials = trials[trials["experiment"] == exp.name]
        state = searcher_state(exp)
        figs[f"history_{exp.name}"] = (plots.search_history(exp_trials), f"Search history of {exp.name}.")
        if state.get("history"):
            figs[f"importance_{exp.name}"] = (plots.param_importance(state),
                                              f"Parameter importance in {exp.name} (optuna.importance).")
    for hyp, row in plots.best_trials(trials, 1).set_index("hypothesis").iterrows():
        if isinstance(row.get("schedule_json"), str):
            figs[f"schedule_{hyp}"] = (plots.schedule_timeline(row["schedule_json"]), f"Best {hyp} schedule.")
    finder = trials["lr_finder_json"].dropna() if "lr_finder_json" in trials else []
    if len(finder):
        figs["lr_finder"] = (plots.lr_finder_curve(finder.iloc[0]), "The LR range test behind max_lr='find'.")
    if model_plots:
        figs.update(_model_figures(trials, exps))
    return figs


def _model_figures(trials: pd.DataFrame, exps: list[Path]) -> dict:
    """Confusion matrix and Grad-CAM of the best completed trial, when its dataset can be loaded."""
    from tune_growth.analysis.model_plots import confusion_figure, confusion_matrix, grad_cam_figure, load_trial_model
    from tune_growth.data import DatasetError, DataSpec, load_dataset

    done = trials[trials["status"] == "completed"]
    if not len(done):
        return {}
    best = done.loc[done["final_val_acc"].idxmax()]  # chosen on validation; the plots show its test split
    exp = next(e for e in exps if e.name == best["experiment"])
    try:
        spec = json.loads((exp / "search.json").read_text())["dataset"]
        data = load_dataset(DataSpec(**spec))
        model, schedule = load_trial_model(exp / f"trial_{best['trial_id']}", data)
    except (FileNotFoundError, KeyError, DatasetError) as err:
        print(f"report: skipping the model plots ({err})", file=sys.stderr)
        return {}
    size = schedule.stages[-1].image_size
    return {"confusion": (confusion_figure(confusion_matrix(model, data, size), data.classes),
                          f"Confusion matrix of the best model ({best['hypothesis']}, trial {best['trial_id']})."),
            "grad_cam": (grad_cam_figure(model, data, size), "Where the best model looks (Grad-CAM).")}


def html_table(table: pd.DataFrame) -> str:
    """A table as the pages show it: numbers to 4 significant digits, a missing cost as never reached."""
    return table.reset_index(drop=table.index.name is None).to_html(index=False, float_format=lambda v: f"{v:.4g}",
                                                                    na_rep="not reached", classes="summary", border=0)


def figures_html(images: dict[str, tuple[bytes, str]]) -> str:
    """Each (PNG bytes, caption) embedded as a <figure>, so a page needs no file beside it."""
    return "\n".join(
        f'<figure id="{html.escape(name)}"><img alt="{html.escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        for name, (png, caption) in images.items())


STYLE = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222}"
         "table.summary{border-collapse:collapse;font-size:14px}table.summary td,table.summary th"
         "{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}figure{margin:2em 0}"
         "img{max-width:100%}figcaption{color:#555;font-size:14px}")


def page_html(title: str, body: str) -> str:
    """A self-contained page around `body`."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>")


def render_html(title: str, table: pd.DataFrame, images: dict[str, tuple[bytes, str]], heading: str, intro: str,
                more: dict[str, tuple[str, pd.DataFrame]] | None = None) -> str:
    """A self-contained page: a heading, an intro line, the table, then `more` tables (heading ->
    (intro, table)), then every image embedded."""
    rows = html_table(table) + "".join(f"<h2>{html.escape(h)}</h2><p>{html.escape(i)}</p>{html_table(t)}"
                                       for h, (i, t) in (more or {}).items())
    return page_html(title, f"<h2>{html.escape(heading)}</h2><p>{html.escape(intro)}</p>{rows}"
                            f"<h2>Plots</h2>{figures_html(images)}")


def save_figures(figs: dict, out: Path) -> dict[str, tuple[bytes, str]]:
    """Save each (Figure, caption) as OUT/NAME.png; return name -> (PNG bytes, caption)."""
    images = {}
    for name, (fig, caption) in figs.items():
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        images[name] = (path.read_bytes(), caption)
    return images


def build_report(results_dir: str | Path, out_dir: str | Path | None = None, target: float = 0.97,
                 model_plots: bool = True) -> Path:
    """Write OUT/*.png and OUT/report.html for the experiments in RESULTS_DIR; return the page."""
    results_dir = Path(results_dir)
    out = Path(out_dir) if out_dir else results_dir / "report"
    trials, metrics, exps = load(results_dir)
    if trials.empty:
        raise FileNotFoundError(f"no experiment with trials under {str(results_dir)!r}")
    out.mkdir(parents=True, exist_ok=True)
    effort = expected_best_table(trials)
    fronts, front_tables = front_figures(trials, chance(metrics))
    images = save_figures({**figures(trials, metrics, exps, effort, model_plots), **fronts}, out)
    table = summary_table(trials, metrics, target)
    title = f"tune_growth report: {', '.join(e.name for e in exps)}"
    intro = (f"Best per hypothesis by validation accuracy, its test accuracy beside it (measured once, chosen on "
             f"nothing); cost to reach {target:.1%} validation accuracy (examples, compute = examples × pixels, "
             "seconds of training).")
    more = {"Expected best against search effort": (
        "Expected best validation accuracy of n trials drawn from each search, with a 95% bootstrap band over its "
        "trials (Dodge et al. 2019; the baseline control and stopped runs excluded).", at_effort(effort))}
    if effort.empty:
        del more["Expected best against search effort"]
    for cost, fronts_table in front_tables.items():
        more[f"Fronts against {cost}: hypervolume"] = (table_intro(cost, fronts_table), fronts_for_page(fronts_table))
    page = render_html(title, for_page(table), images, "Best schedule per hypothesis", intro, more or None)
    return atomic_write_text(out / "report.html", page)


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="python -m tune_growth.analysis", description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path, help="an experiment folder, or a folder of experiments")
    p.add_argument("--out", type=Path, help="output folder (default RESULTS/report)")
    p.add_argument("--target", type=float, default=0.97, help="accuracy target for the summary table")
    p.add_argument("--no-model-plots", action="store_true", help="skip the confusion matrix and Grad-CAM")
    args = p.parse_args(argv)
    if not args.results.is_dir():
        return fail(f"results folder {str(args.results)!r} does not exist; expected <storage> or <storage>/<name>")
    if not 0 < args.target <= 1:
        return fail(f"--target {args.target} is invalid; expected an accuracy in (0, 1]")
    cwd_importable()  # a search's model may be the user's own, `my_module:factory` beside them
    try:
        page = build_report(args.results, args.out, args.target, not args.no_model_plots)
    except (FileNotFoundError, ValueError) as err:  # ValueError: results.SchemaError
        return fail(str(err))
    print(f"wrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
