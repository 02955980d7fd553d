"""precompute: a frozen-body, head-only epoch on precomputed activations against the same epoch
through the whole model (the frozen body run forward every step, no backward through it).

One stage, freeze_to=-1, no augmentation, a fixed LR. Per-epoch time is the slope between runs
of E and E+4 epochs (so model set-up, the one-off cache build and the final evaluation cancel);
the intercept of the cached runs is the cache build plus set-up. Medians over interleaved
repeats. xresnet18 on the CIFAR-10 subset (../shared/data/cifar10) when present, else mnist5k.
"""

from __future__ import annotations

import argparse
import time

from benchmarks.common import CIFAR_SPEC, cifar_present, emit, interleaved_medians, whole_train
from tune_growth.data import DataSpec
from tune_growth.schedule.core import Schedule, Stage
from tune_growth.schedule.lr_policy import LRPolicy
from tune_growth.train.config import RunConfig
from tune_growth.train.trainer import Trainer


def head_only(data, epochs: float, batch: int) -> Schedule:
    stage = Stage(tuple(range(data.num_classes)), None, data.image_size, 1.0, freeze_to=-1, augment=False)
    return Schedule((stage,), data.num_classes, "finetune", epochs, batch, LRPolicy("onecycle"), max_lr=0.01)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks precompute", description=__doc__.splitlines()[0])
    p.add_argument("--model", default="xresnet18")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--epochs", type=float, default=1.0, help="E: the shorter run's epochs (the longer has E+4)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-cifar", action="store_true")
    args = p.parse_args(argv)
    cifar = not args.no_cifar and cifar_present()
    data = whole_train(CIFAR_SPEC if cifar else DataSpec("mnist5k"))
    extra = 4.0

    def run(epochs: float, precompute: bool) -> None:
        trainer = Trainer(head_only(data, epochs, args.batch), data,
                          RunConfig(model=args.model, width=args.width, evals=1, precompute=precompute, monitor="test"))
        for _ in trainer.run():
            pass

    fns = {f"{mode}_{e}": (lambda e=e, mode=mode: run(e, mode == "cached"))
           for mode in ("cached", "full") for e in (args.epochs, args.epochs + extra)}
    t = interleaved_medians(fns, args.repeats, data.device)
    per_epoch = {mode: (t[f"{mode}_{args.epochs + extra}"] - t[f"{mode}_{args.epochs}"]) / extra
                 for mode in ("cached", "full")}
    start = time.perf_counter()
    Trainer(head_only(data, 1.0, args.batch), data, RunConfig(model=args.model, width=args.width, monitor="test"))  # set-up alone
    setup = time.perf_counter() - start
    emit("precompute", {"dataset": "cifar10 subset" if cifar else data.name, "model": args.model, "width": args.width,
                        "train_images": len(data.train_y), "batch": args.batch,
                        "epoch_seconds_full": round(per_epoch["full"], 4),
                        "epoch_seconds_cached": round(per_epoch["cached"], 4),
                        "speedup_per_epoch": round(per_epoch["full"] / per_epoch["cached"], 1),
                        **{f"{mode}_run_intercept_seconds": round(t[f"{mode}_{args.epochs}"] - args.epochs * per_epoch[mode], 3)
                           for mode in ("cached", "full")},
                        "setup_seconds": round(setup, 3), "repeats": args.repeats})


if __name__ == "__main__":
    main()
