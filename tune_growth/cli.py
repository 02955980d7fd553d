"""Shared command-line plumbing: one-line errors with exit code 2."""

from __future__ import annotations

import argparse
import sys


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the bad value (no usage dump), exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def fail(message: str) -> int:
    """Print a one-line error to stderr and return exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2
