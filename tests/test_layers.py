"""The folder listing is the architecture: packages in the order data flows through them, each
importing only from those before it; only the Ray drivers (search, study) import Ray."""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tune_growth"
SHARED = {"io", "cache", "cli"}  # foundations every package may use
# import order: each package may import itself, the shared modules and the packages before it
# (search/ comes after results/: it calls the exporter to write its Parquet; the results package
# reads what a search wrote as files and imports nothing of it). The same order as the package's
# docstring and the README.
ORDER = ["data", "models", "schedule", "train", "results", "search", "analysis", "study"]
BELOW_RAY = ["tune_growth.data", "tune_growth.data.augment", "tune_growth.models.registry",
             "tune_growth.models.resnets", "tune_growth.models.groups", "tune_growth.models.pretrained",
             "tune_growth.schedule.core", "tune_growth.schedule.builders", "tune_growth.schedule.selection",
             "tune_growth.train.precompute", "tune_growth.train.lr_finder", "tune_growth.train.trainer",
             "tune_growth.train.cli", "tune_growth.results.export", "tune_growth.analysis.plots",
             "tune_growth.analysis.model_plots", "tune_growth.analysis.report", "tune_growth.study.stats",
             "tune_growth.study.controls"]


def _imports(path: Path) -> set[str]:
    """The tune_growth modules a file imports (module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tune_growth"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tune_growth")}
    return found


def test_every_module_lives_in_a_package_of_the_flow_or_is_shared():
    top = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}  # __main__: the one command, dispatching by name
    assert top == SHARED
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()} == set(ORDER)
    for name in ORDER:  # each package says what it owns and what it may import
        assert len(ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text())) or "") > 100, name


def test_the_flow_is_described_in_the_order_it_is_enforced():
    doc = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text()))
    positions = [doc.index(f"{name}/") for name in ORDER]
    assert positions == sorted(positions), doc


def test_pyproject_installs_every_package_folder_and_the_top_level_spaces():
    import tomllib

    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {".".join(p.relative_to(PACKAGE.parent).parts[:-1]) for p in PACKAGE.rglob("__init__.py")}
    assert set(project["packages"]) == folders | {"tune_growth.search.spaces"}
    assert project["package-dir"] == {"tune_growth.search.spaces": "search_spaces"}
    assert not (PACKAGE / "search" / "spaces").exists()  # stored once: at the top, where a user opens it


def test_packages_import_only_what_comes_before_them():
    for name in ORDER:
        allowed = {"tune_growth", *(f"tune_growth.{m}" for m in SHARED | set(ORDER[: ORDER.index(name) + 1]))}
        for path in (PACKAGE / name).glob("*.py"):
            for module in _imports(path):
                head = ".".join(module.split(".")[:2])
                assert head in allowed, f"{path.relative_to(PACKAGE)} imports {module}; {name}/ may import {sorted(allowed)}"
    for name in SHARED:
        assert not any(m.split(".")[1] in ORDER for m in _imports(PACKAGE / f"{name}.py") if "." in m), name


def test_nothing_below_the_drivers_imports_ray():
    code = "import sys\n" + "".join(f"import {m}\n" for m in BELOW_RAY) + "print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_drivers_do_not_import_torchvision_until_a_model_needs_it():
    """torchvision's import pulls in torch._dynamo (about 2 s of every search or study driver's start,
    which never builds an optimizer: torch.optim imports torch._dynamo at its first one); only its
    ResNets, ImageNet weights and dataset readers need it, so they import it."""
    code = textwrap.dedent('''
        import sys
        import tune_growth.search.__main__, tune_growth.search.trial, tune_growth.study.__main__, tune_growth.train.cli
        from tune_growth.data import load_dataset
        from tune_growth.models.registry import build_model
        data = load_dataset("digits")
        for name in ("lenet5", "resnet9", "xresnet18"):
            build_model(name, 1, 10)
        before = "torchvision" in sys.modules or "torch._dynamo" in sys.modules
        build_model("resnet18", 3, 10)
        print(before, "torchvision" in sys.modules)
    ''')
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
