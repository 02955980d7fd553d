"""The README and docs/ cannot drift: the README stays short, every relative link and anchor
resolves, the results page holds the schema the export declares, and every runnable command block
runs, at a tiny size, in a folder shaped like a fresh checkout."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tune_growth.results.schema import schema_markdown

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# a fenced shell block is `bash runnable` (run below) or `bash no-run` (needs a cloud, the internet, hours,
# or is `make test` itself); the info string's first word is all GitHub reads, so both render as bash
FENCE = re.compile(r"^```(bash|sh|shell|console)([^\n]*)\n(.*?)^```", flags=re.M | re.S)
# every documented command at a tiny size: these flags come after the page's own, and argparse keeps
# the last value of an option, so a page's `--budget 30 --trials 64` runs as 0.05 epochs and 2 trials;
# fine-tuning's frozen phases are counted in epochs, so they shrink with the budget
TINY = """set -euo pipefail
tune-growth() {
  local ft=()
  [[ " $* " == *" --hypothesis finetune "* ]] && ft=(--set ft_head_epochs=0.01 --set ft_aug_epochs=0.01)
  case "$1" in
    train) command tune-growth "$@" --budget 0.05 --evals 2 --quiet "${ft[@]}" ;;
    search) command tune-growth "$@" --trials 2 --budget 0.05 --evals 2 ;;
    study) command tune-growth "$@" --seeds 3 --budgets 0.05 --evals 2 ;;
    *) command tune-growth "$@" ;;
  esac
}
"""
SHARED = ROOT.parent / "shared"


def shell_blocks(page: Path) -> list[tuple[str, str]]:
    """(marker, script) of each fenced shell block of a page, in order."""
    return [(marker.strip(), body) for _, marker, body in FENCE.findall(page.read_text())]


RUNNABLE = [page for page in PAGES if any(marker == "runnable" for marker, _ in shell_blocks(page))]


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for a Markdown page's headings."""
    heads = re.findall(r"^#{1,6} (.+)$", page.read_text(), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


def test_the_readme_is_read_in_five_minutes():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    for target in LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        where = page if not path else (page.parent / path).resolve()
        assert where.exists(), f"{page.name}: {target}"
        if anchor and where.suffix == ".md":
            assert anchor in anchors(where), f"{page.name}: {target}"


def test_the_results_page_holds_the_declared_schema():
    text = (ROOT / "docs" / "results.md").read_text()
    block = text.split("<!-- schema:begin -->\n", 1)[1].split("<!-- schema:end -->", 1)[0]
    assert block == schema_markdown()


def test_every_shell_block_says_whether_it_runs():
    for page in PAGES:
        for marker, body in shell_blocks(page):
            assert marker in ("runnable", "no-run"), f"{page.name}: a shell block marked {marker!r}: {body[:60]}"
    assert {p.name for p in RUNNABLE} >= {"README.md", "analysis.md", "schedules.md", "search.md", "study.md"}


def checkout(tmp_path: Path) -> Path:
    """A folder shaped like a fresh checkout: the repository's tracked top-level entries linked in
    (read, never written: commands write results/, runs/ and reports/ here), and ../shared beside
    it when this machine has the data."""
    work = tmp_path / "checkout"
    work.mkdir()
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for top in sorted({line.split("/", 1)[0] for line in tracked.splitlines()}):
        (work / top).symlink_to(ROOT / top)
    if SHARED.is_dir():
        (tmp_path / "shared").symlink_to(SHARED)
    return work


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: p.name)
def test_every_runnable_command_runs(page, tmp_path):
    scripts = [body for marker, body in shell_blocks(page) if marker == "runnable"]
    if "../shared/" in "".join(scripts) and not SHARED.is_dir():
        pytest.skip(f"{page.name} uses ../shared/data, absent on this machine")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("RAY_ADDRESS", None)  # each command starts its own local Ray, as a user's would
    proc = subprocess.run(["bash", "-c", TINY + "\n".join(scripts)], cwd=checkout(tmp_path), env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{page.name}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
