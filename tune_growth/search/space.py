"""Search-space files: loading by name (the shipped spaces: the project's top-level search_spaces/
folder, installed as the package tune_growth.search.spaces, so they are found from any working
folder) or by path (a user's file), and validation that runs before Ray starts, so a typo costs a
one-line error instead of a cluster.

A space file declares constants and one define-by-run function; it computes nothing:

    FIXED = {"hypothesis": "h1", "crop_pad": 2}   # builder parameters every trial shares
    METRIC, MODE = "val_acc", "max"              # validation: what a search selects on
    DATASET, MODEL = "mnist5k", "lenet5"          # defaults; the CLI may override
    BUDGET_EPOCHS, NUM_TRIALS = 20.0, 16
    PHASE_START = 0.4    # budget fraction by which every schedule here trains on the full problem
    SETTLE = 0.15        # optional: budget share on the full problem before a rung judges a trial
    def space(trial): trial.suggest_float("early_share", 0.05, PHASE_START); ...
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import optuna

from tune_growth.schedule.builders import DEFAULTS, HYPOTHESES
from tune_growth.search.scheduler import SETTLE

REQUIRED = ("FIXED", "METRIC", "MODE", "DATASET", "MODEL", "BUDGET_EPOCHS", "NUM_TRIALS", "PHASE_START", "space")
METRICS = ("val_acc", "val_loss")  # select on validation; the test split is for the final report
# Parameters that belong to the run, not the schedule: a space may not suggest them.
RUN_LEVEL = ("budget_epochs", "budget_unit")


class SpaceError(ValueError):
    """A bad search-space file: the one-line message names it and what would be valid."""


@dataclass(frozen=True)
class Space:
    name: str
    path: Path
    module: ModuleType
    fixed: dict[str, Any]
    metric: str
    mode: str
    dataset: str
    model: str
    width: float
    budget_epochs: float
    num_trials: int
    phase_start: float
    fn: Callable[[optuna.Trial], dict | None]
    settle: float = SETTLE

    @property
    def hypothesis(self) -> str:
        return self.fixed["hypothesis"]


def spaces_dir() -> Path:
    """The shipped spaces' folder (search_spaces/ in a checkout, tune_growth/search/spaces/ once
    installed); _common.py there is what they share."""
    spec = importlib.util.find_spec("tune_growth.search.spaces")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def available() -> list[str]:
    return sorted(p.stem for p in spaces_dir().glob("*.py") if not p.name.startswith("_"))


def resolve(name_or_path: str) -> Path:
    """The shipped space NAME for a bare name, else the path as given."""
    if name_or_path.endswith(".py") or "/" in name_or_path:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise SpaceError(f"search space file {name_or_path!r} does not exist; expected a .py file "
                             f"or one of {', '.join(available())}")
        return path.resolve()
    path = spaces_dir() / f"{name_or_path}.py"
    if not path.is_file():
        raise SpaceError(f"unknown search space {name_or_path!r}; expected one of {', '.join(available())} "
                         "or a path to a .py file")
    return path


def load(name_or_path: str) -> Space:
    """Import a space file under a stable module name (so Ray can unpickle it on --resume) and
    check its declarations."""
    path = resolve(name_or_path)
    module_name = f"tune_growth_space_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        raise SpaceError(f"search space {str(path)!r} has a syntax error at line {err.lineno}: {err.msg}") from None
    except Exception as err:  # noqa: BLE001 - any import-time failure is the file's fault
        raise SpaceError(f"search space {str(path)!r} failed to import: {type(err).__name__}: {err}") from None
    sys.modules[module_name] = module
    missing = [name for name in REQUIRED if not hasattr(module, name)]
    if missing:
        raise SpaceError(f"search space {str(path)!r} lacks {missing}; expected a space(trial) function and "
                         f"the constants {list(REQUIRED[:-1])}")
    if not callable(module.space):
        raise SpaceError(f"search space {str(path)!r}: 'space' is not a function; expected def space(trial)")
    space = Space(path.stem, path, module, dict(module.FIXED), module.METRIC, module.MODE, module.DATASET,
                  module.MODEL, float(getattr(module, "WIDTH", 1.0)), float(module.BUDGET_EPOCHS),
                  int(module.NUM_TRIALS), float(module.PHASE_START), module.space,
                  float(getattr(module, "SETTLE", SETTLE)))
    check(space)
    return space


def check(space: Space) -> None:
    """Validate constants, then run the space once on a throwaway Optuna trial and check every
    parameter it suggests is a builder parameter."""
    where = f"search space {space.name!r}"
    if space.fixed.get("hypothesis") not in HYPOTHESES:
        raise SpaceError(f"{where}: FIXED['hypothesis']={space.fixed.get('hypothesis')!r}; expected one of "
                         f"{', '.join(HYPOTHESES)}")
    if str(space.metric).startswith("test_"):
        raise SpaceError(f"{where}: METRIC={space.metric!r} selects on the test split; expected one of {METRICS} "
                         "(the validation split; test is for the final report)")
    if space.metric not in METRICS or space.mode not in ("max", "min"):
        raise SpaceError(f"{where}: METRIC={space.metric!r}, MODE={space.mode!r}; expected METRIC in {METRICS} "
                         "and MODE 'max' or 'min'")
    if not 0.0 < space.phase_start < 1.0:
        raise SpaceError(f"{where}: PHASE_START={space.phase_start!r}; expected a budget fraction in (0, 1)")
    unknown = sorted(set(space.fixed) - set(DEFAULTS))
    if unknown:
        raise SpaceError(f"{where}: FIXED has unknown parameter(s) {unknown}; expected names from {sorted(DEFAULTS)}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    try:
        extra = space.fn(trial) or {}
    except Exception as err:  # noqa: BLE001
        raise SpaceError(f"{where}: space(trial) raised {type(err).__name__}: {err}") from None
    suggested = set(trial.params) | set(extra)
    unknown = sorted(suggested - set(DEFAULTS) | (suggested & set(RUN_LEVEL)))
    if unknown:
        raise SpaceError(f"{where}: space(trial) suggests unknown parameter(s) {unknown}; expected names from "
                         f"{sorted(set(DEFAULTS) - set(RUN_LEVEL))}")
    def largest(name: str) -> float:
        dist = trial.distributions.get(name)
        return dist.high if dist is not None else space.fixed.get(name, DEFAULTS[name])

    if space.hypothesis == "finetune":  # the frozen stages come first; ASHA must judge after them
        early = (largest("ft_head_epochs") + largest("ft_aug_epochs")) / space.budget_epochs
        what = f"(ft_head_epochs + ft_aug_epochs) / {space.budget_epochs:g} budget epochs"
    else:
        early, what = largest("early_share"), "early_share"
    if early > space.phase_start + 1e-9:
        raise SpaceError(f"{where}: {what}={early:g} can exceed PHASE_START={space.phase_start}; expected "
                         f"PHASE_START >= the largest {what} the space allows")
