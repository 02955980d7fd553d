"""time_to_accuracy: the baseline schedule to a target test accuracy: wall seconds, examples and
compute (examples x pixels) when first reached, over seeds. lenet5 on mnist5k to 97%, and a
narrow ResNet-9 on the CIFAR-10 subset (../shared/data/cifar10, when present) to 65%."""

from __future__ import annotations

import argparse
import statistics

from benchmarks.common import CIFAR_SPEC, cifar_present, emit, whole_train
from tune_growth.schedule.builders import build_schedule
from tune_growth.train.config import RunConfig
from tune_growth.train.records import first_reaching
from tune_growth.train.trainer import Trainer


def case(data, model, width, target, budget, params, seeds) -> dict:
    schedule = build_schedule({"hypothesis": "baseline", "budget_epochs": budget, **params}, data)
    hits, finals = [], []
    for seed in range(seeds):
        records = list(Trainer(schedule, data, RunConfig(model=model, width=width, seed=seed, evals=40, monitor="test")).run())
        finals.append(records[-1]["test_acc"])
        hit = first_reaching(records, target, "test_acc")
        hits.append(None if hit is None else {k: hit[k] for k in ("wall_seconds", "examples", "compute")})
    reached = [h for h in hits if h]
    med = lambda k: statistics.median(h[k] for h in reached) if reached else None  # noqa: E731
    return {"dataset": data.name, "model": model, "width": width, "target": target, "budget_epochs": budget,
            "seeds": seeds, "reached": f"{len(reached)}/{seeds}", "median_wall_seconds": med("wall_seconds"),
            "median_examples": med("examples"), "median_compute": med("compute"),
            "final_acc": [round(a, 4) for a in finals]}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks time_to_accuracy", description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3, help="seeds per case")
    p.add_argument("--no-cifar", action="store_true", help="skip the CIFAR-10 subset case")
    args = p.parse_args(argv)
    cases = [case(whole_train("mnist5k"), "lenet5", 1.0, 0.97, 20.0, {"crop_pad": 2}, args.seeds)]
    if not args.no_cifar and cifar_present():
        cases.append(case(whole_train(CIFAR_SPEC), "resnet9", 0.25, 0.65, 15.0,
                          {"crop_pad": 4, "flip": True}, args.seeds))
    emit("time_to_accuracy", {"cases": cases})


if __name__ == "__main__":
    main()
