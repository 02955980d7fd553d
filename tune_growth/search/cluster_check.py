"""`python -m tune_growth.search.cluster_check [cluster.yaml]`: validate a Ray cluster-launcher
config offline with Ray's own validator, and check that a trial's default resources fit one of its
GPU node types. One line either way; exit code 2 when the file is wrong."""

from __future__ import annotations

import copy
import logging
import sys
from pathlib import Path

import yaml

from tune_growth.cli import OneLineParser, fail
from tune_growth.search.run import DEFAULT_CPUS_PER_TRIAL, DEFAULT_GPUS_PER_TRIAL


def check(path: Path) -> str:
    """Return a one-line verdict for a valid file; raise ValueError (one line) for a wrong one."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    logging.getLogger("ray").setLevel(logging.WARNING)  # its INFO lines would break the one-line answer
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ValueError(f"{path}: not valid YAML{where} ({getattr(err, 'problem', err)})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a mapping of cluster settings, found {type(config).__name__}")
    try:
        validate_config(prepare_config(copy.deepcopy(config)))
    except Exception as err:  # noqa: BLE001 - Ray raises ValueError, jsonschema errors, KeyError, ...
        message = " ".join(str(getattr(err, "message", err)).split())[:300]
        raise ValueError(f"{path}: rejected by Ray's validator: {message}") from None
    gpu_types = {name: node["resources"] for name, node in config.get("available_node_types", {}).items()
                 if node.get("resources", {}).get("GPU", 0) > 0}
    fits = [name for name, res in gpu_types.items()
            if res.get("CPU", 0) >= DEFAULT_CPUS_PER_TRIAL and res["GPU"] >= DEFAULT_GPUS_PER_TRIAL]
    if not fits:
        raise ValueError(f"{path}: no node type states resources with a GPU that fit a trial's default "
                         f"{DEFAULT_CPUS_PER_TRIAL:g} CPU + {DEFAULT_GPUS_PER_TRIAL:g} GPU; expected one")
    return f"{path}: valid; a trial's default {DEFAULT_CPUS_PER_TRIAL:g} CPU + {DEFAULT_GPUS_PER_TRIAL:g} GPU fits {', '.join(fits)}"


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="python -m tune_growth.search.cluster_check", description=__doc__.splitlines()[0])
    p.add_argument("config", type=Path, nargs="?", default=Path("cluster.yaml"), help="cluster-launcher YAML")
    args = p.parse_args(argv)
    if not args.config.is_file():
        return fail(f"{args.config}: no such file; expected a Ray cluster-launcher YAML")
    try:
        print(check(args.config))
    except ValueError as err:
        return fail(str(err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
