"""Entry point: `python -m benchmarks NAME [flags]`; `python -m benchmarks` lists the names."""

from __future__ import annotations

import importlib
import sys

# name -> module under benchmarks/ with a main(argv) function
BENCHMARKS = {
    "pipeline": "benchmarks.pipeline",
    "hypotheses": "benchmarks.hypotheses",
    "utilization": "benchmarks.utilization",
    "loop": "benchmarks.loop",
    "precision": "benchmarks.precision",
    "search_efficiency": "benchmarks.search_efficiency",
    "time_to_accuracy": "benchmarks.time_to_accuracy",
    "memory": "benchmarks.memory",
    "precompute": "benchmarks.precompute",
    "finetune": "benchmarks.finetune",
    "measurement": "benchmarks.measurement",
    "rank_fidelity": "benchmarks.rank_fidelity",
    "gpu": "benchmarks.gpu",
    "verdict": "benchmarks.verdict",
    "frontier": "benchmarks.frontier",
}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in BENCHMARKS:
        given = sys.argv[1] if len(sys.argv) > 1 else None
        print(f"unknown benchmark {given!r}; expected one of {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    importlib.import_module(BENCHMARKS[sys.argv[1]]).main(sys.argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
