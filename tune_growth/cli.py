"""Shared command-line plumbing: one-line errors with exit code 2."""

from __future__ import annotations

import argparse
import os
import sys


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the bad value (no usage dump), exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


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
