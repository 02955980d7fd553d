"""The README's answer tables (benchmarks/answer.py): rendered from the published verdict's
Parquet files, checked against the README, on synthetic effects with known decisions."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from benchmarks import answer

ROOT = Path(__file__).resolve().parents[1]


def publish_effects(folder: Path, rows: list[tuple]) -> None:
    """An effects table of primary rows (budget, label, reference, estimate, half-width, decision)
    plus one exploratory row, which the tables must ignore."""
    table = pd.DataFrame([{"budget": b, "label": label, "reference": ref, "seeds": 4, "estimate": est,
                           "low": est - hw, "high": est + hw, "se": hw / 3.18, "family": "primary",
                           "decision": d} for b, label, ref, est, hw, d in rows])
    explore = table.iloc[:1].assign(family="exploratory", decision="better", label="anti_h1")
    folder.mkdir(parents=True)
    pd.concat([table, explore]).to_parquet(folder / "effects.parquet")


def test_the_tables_group_each_comparisons_decisions_by_budget(tmp_path):
    publish_effects(tmp_path / "mnist5k", [
        (2, "h1", "baseline", -3.0, 1.0, "worse"), (5, "h1", "baseline", -1.0, 0.4, "worse"),
        (10, "h1", "baseline", 0.1, 0.2, "equivalent"), (20, "h1", "baseline", 0.4, 0.6, "inconclusive"),
        (2, "h1", "random_growing", 2.0, 0.5, "better"), (5, "h1", "random_growing", 0.2, 0.9, "inconclusive"),
        (10, "h1", "random_growing", 0.3, 1.4, "inconclusive"), (2, "h1+h3", "baseline", 0.0, 0.3, "inconclusive")])
    text = answer.render(tmp_path)
    lines = text.splitlines()
    assert "| mnist5k (lenet5) | 2, 5, 10, 20 | 4 | 1 | 2 | 1 | 4 |" in text  # exploratory row left out
    assert "| CIFAR-10 subset (ResNet-9 × 0.25) | study not finished yet |" in text
    rows = [line for line in lines if line.startswith("| h1")]
    assert rows == [  # matched control before the baseline, single hypotheses before combinations
        "| h1 vs random examples, same stages | better at 2 (+2.0); inconclusive at 5, 10 (±0.9–1.4) |",
        "| h1 vs the tuned baseline | worse at 2, 5 (-3.0 to -1.0); equivalent within ±0.5 at 10; "
        "inconclusive at 20 (±0.6) |",
        "| h1+h3 vs the tuned baseline | inconclusive at 2 (±0.3) |"]


def test_where_each_dataset_ran_is_rendered_from_its_timing_and_machines(tmp_path):
    publish_effects(tmp_path / "mnist5k", [(2, "h1", "baseline", -3.0, 1.0, "worse")])
    (tmp_path / "mnist5k" / "timing.json").write_text(json.dumps({"search h1_b2": 60.0, "study": 600.0}))
    (tmp_path / "cifar").mkdir()  # searches done, study not: minutes so far
    (tmp_path / "cifar" / "timing.json").write_text(json.dumps({"search h1_b1": 90.0, "search h2_b1": 30.0}))
    (tmp_path / "cifar" / "machines.json").write_text(json.dumps({
        "search h1_b1": ["EPYC (2 cores, no bf16)"], "search h2_b1": ["EPYC (2 cores, AVX512-BF16)"],
        "study": ["Xeon (2 cores, AMX, AVX512-BF16)"]}))
    rows = [line for line in answer.render(tmp_path).splitlines() if line.endswith(("recorded |", "BF16) |"))]
    assert rows == ["| mnist5k (lenet5) | 11 | not recorded |",
                    "| CIFAR-10 subset (ResNet-9 × 0.25) | 2 so far | searches: EPYC (2 cores, AVX512-BF16), "
                    "EPYC (2 cores, no bf16); study: Xeon (2 cores, AMX, AVX512-BF16) |"]


def test_an_unfinished_verdict_renders_counts_alone(tmp_path):
    assert "comparison" not in answer.render(tmp_path)
    assert answer.render(tmp_path).count("study not finished yet") == len(answer.DATASETS)


def test_the_readme_answer_tables_are_the_published_verdicts():
    """Fails when a dataset's verdict landed (or changed) without the README following it."""
    assert answer.main(["--check", str(ROOT / "README.md")]) == 0


def test_write_replaces_the_block_and_a_readme_without_markers_is_refused(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{answer.BEGIN}\nstale\n{answer.END}\nafter\n")
    assert answer.main(["--check", str(readme), "--published", str(tmp_path)]) == 1
    assert answer.main(["--write", str(readme), "--published", str(tmp_path)]) == 0
    assert "stale" not in readme.read_text() and readme.read_text().endswith(f"{answer.END}\nafter\n")
    assert answer.main(["--check", str(readme), "--published", str(tmp_path)]) == 0
    readme.write_text("# no markers\n")
    assert answer.main(["--check", str(readme)]) == 2
    assert "lacks the answer markers" in capsys.readouterr().err


def test_the_tables_name_the_datasets_the_verdict_runs():
    from benchmarks.verdict import DEFAULT

    assert list(answer.DATASETS) == DEFAULT
