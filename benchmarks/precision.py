"""precision: fp32 against bf16 autocast, per model: step throughput (examples per second of
training) and final test accuracy on mnist5k at the baseline schedule, over seeds. The device
policy (tune_growth/train/device.py) picks bf16 only where it measured faster and accuracy held."""

from __future__ import annotations

import argparse
import statistics

from benchmarks.common import emit, whole_train
from tune_growth.schedule.builders import build_schedule
from tune_growth.train.config import RunConfig
from tune_growth.train.device import pick_device, resolve_precision
from tune_growth.train.trainer import Trainer


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks precision", description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["lenet5", "cnn"], help="models to compare")
    p.add_argument("--budget", type=float, default=20.0, help="epochs per run")
    p.add_argument("--seeds", type=int, default=3, help="seeds per model and precision")
    args = p.parse_args(argv)
    data = whole_train("mnist5k")
    schedule = build_schedule({"hypothesis": "baseline", "budget_epochs": args.budget, "crop_pad": 2, "max_lr": 0.05}, data)
    rows = []
    for model in args.models:
        width = 0.5 if model == "cnn" else 1.0
        for precision in ("fp32", "bf16"):
            runs = [list(Trainer(schedule, data, RunConfig(model=model, width=width, precision=precision, seed=seed, monitor="test",
                                                           evals=1)).run())[-1] for seed in range(args.seeds)]
            rows.append({"model": model, "width": width, "precision": precision,
                         "examples_per_second": round(statistics.median(r["examples"] / r["wall_seconds"] for r in runs)),
                         "final_acc": [round(r["test_acc"], 4) for r in runs],
                         "final_acc_mean": round(statistics.mean(r["test_acc"] for r in runs), 4)})
    by = {(r["model"], r["precision"]): r for r in rows}
    ratios = {m: round(by[m, "bf16"]["examples_per_second"] / by[m, "fp32"]["examples_per_second"], 3) for m in args.models}
    device = pick_device("auto")
    emit("precision", {"rows": rows, "bf16_over_fp32_throughput": ratios, "budget_epochs": args.budget,
                       "auto_picks": {m: resolve_precision("auto", device, m) for m in args.models}})


if __name__ == "__main__":
    main()
