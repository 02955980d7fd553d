"""The shipped search spaces, one file each (baseline, h1, h2, h3, combined, random_growing,
anti_h2, finetune; _common.py holds what they share). This folder installs as the package
tune_growth.search.spaces (pyproject.toml's package-dir), so `tune-growth search h1` finds them
from any working folder; a space file of your own is passed by its path. The loader and its checks
are tune_growth/search/space.py, re-exported here so `from tune_growth.search import spaces` reads
`spaces.load("h1")`.
"""

from tune_growth.search.space import Space, SpaceError, available, check, load, resolve, spaces_dir

__all__ = ["Space", "SpaceError", "available", "check", "load", "resolve", "spaces_dir"]
