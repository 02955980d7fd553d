"""Shared command-line plumbing: one-line errors with exit code 2."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the bad value (no usage dump), exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def checked(flag: str, cast: Callable[[str], T], ok: Callable[[T], bool], valid: str) -> Callable[[str], T]:
    """An argparse `type=` that casts a flag's text and checks its range, so a bad value is refused
    while parsing, before anything starts, in one line naming the flag, the value and what is valid."""
    def parse(text: str) -> T:
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {text!r} is invalid; expected {valid}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{flag} {value} is invalid; expected {valid}")
        return value

    parse.__name__ = getattr(cast, "__name__", "value")  # what argparse calls the type in its own messages
    return parse


def validated(check: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse `type=` from a validator that raises a one-line ValueError: that line is the error."""
    def parse(text: str) -> T:
        try:
            return check(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = getattr(check, "__name__", "value")
    return parse


def cwd_importable() -> None:
    """The working directory importable, as under `python -m` (a console script's sys.path lacks
    it), here and, through PYTHONPATH, in a local Ray's workers, which inherit this process's
    environment (a cluster's nodes need the module installed): for `--model my_module:factory`."""
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if here not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([here, *paths])


def importable_here(check: Callable[[str], T]) -> Callable[[str], T]:
    """`validated(check)` for a value that may name a module in the working directory (cwd_importable)."""
    def with_cwd(text: str) -> T:
        cwd_importable()
        return check(text)

    with_cwd.__name__ = getattr(check, "__name__", "value")
    return validated(with_cwd)


def count(flag: str) -> Callable[[str], int]:
    """An integer >= 1 (trials, evaluations, CPUs, rungs)."""
    return checked(flag, int, lambda v: v >= 1, "an integer >= 1")


def positive(flag: str, valid: str = "a positive number") -> Callable[[str], float]:
    """A number > 0 (epochs, CPUs per trial)."""
    return checked(flag, float, lambda v: v > 0, valid)


def width(flag: str = "--width") -> Callable[[str], float]:
    """A model's channel multiplier: 0 < width <= 8 (wider is past what a single GPU trains here)."""
    return checked(flag, float, lambda v: 0 < v <= 8, "0 < width <= 8")


def label_noise(flag: str = "--label-noise") -> Callable[[str], float]:
    """The share of training labels replaced: a fraction in [0, 1)."""
    return checked(flag, float, lambda v: 0 <= v < 1, "a fraction in [0, 1), e.g. 0.2")


def add_budget_unit(parser: argparse.ArgumentParser, units: tuple[str, ...]) -> None:
    """--budget-unit, the same on train, search and study: what a budget counts (`units`:
    schedule.core.BUDGET_UNITS; None leaves the default, epochs)."""
    parser.add_argument("--budget-unit", choices=units, default=None,
                        help="what a budget counts: epochs (passes over the training set; the default) or compute "
                             "(the examples x pixels of that many passes at full size, shared by the stages, so a "
                             "half-size stage trains 4x the examples)")


def budget_words(unit: str) -> str:
    """How a budget's number reads: '20 epochs', or '20 full-size epochs of compute'."""
    return "full-size epochs of compute" if unit == "compute" else "epochs"


def tracking_uri(value: str | None, folder: Path) -> str | None:
    """`--mlflow [URI]`: None when the flag is absent; else the URI given, or by default a SQLite
    file in `folder` (MLflow 3 keeps its plain-file store in maintenance mode). A one-line
    ValueError when MLflow is not installed, before anything starts."""
    if value is None:
        return None
    uri = value or f"sqlite:///{folder.expanduser().resolve() / 'mlflow.db'}"
    if importlib.util.find_spec("mlflow") is None:
        raise ValueError(f"--mlflow {uri!r} needs MLflow, which is not installed; expected pip install -e '.[mlflow]'")
    return uri


def fail(message: str) -> int:
    """Print a one-line error to stderr and return exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def parse_gpus(flag: str, text: str | None, address: str | None) -> float | None:
    """GPUs per trial or run: None for auto (one each when the cluster has GPUs), else a number
    >= 0 (fractions share a GPU). Asking for GPUs on a local Ray on a machine without any is refused
    here, before Ray starts, instead of leaving every task pending forever."""
    if text in (None, "auto"):
        return None
    try:
        gpus = float(text)
    except ValueError:
        gpus = -1.0
    if not gpus >= 0:
        raise ValueError(f"{flag} {text!r} is invalid; expected auto or a number >= 0")
    local = not (address or os.environ.get("RAY_ADDRESS"))
    if gpus > 0 and local:
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"{flag} {text} asks for GPUs but this machine has none and no --address was given; "
                             "expected 0, auto, or a cluster with GPUs")
    return gpus
