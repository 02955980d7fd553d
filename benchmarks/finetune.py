"""finetune: fastai's fine-tuning recipe against training the same model from scratch.

The body is pretrained on half of the classes (0-4) and fine-tuned on the other half (5-9) with
the "finetune" schedule (head on precomputed activations -> head with augmentation -> unfreeze
with differential LRs, a fresh LR range test, SGDR with cycle_mult), against two controls at the
same budget on the same classes: the model from scratch (the baseline schedule), and the
pretrained model fine-tuned all at once (the baseline schedule from the pretrained weights).
CIFAR-10 subset in ../shared/data/cifar10 when present (2,500 train / 1,000 test images per half),
else mnist5k. Prints final test accuracy per seed and wall seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch

from benchmarks.common import CIFAR_SPEC, cifar_present, emit, whole_train
from tune_growth.data import DataSpec
from tune_growth.schedule.builders import build_schedule
from tune_growth.train.config import RunConfig
from tune_growth.train.trainer import Trainer


def train(data, params: dict, config: RunConfig) -> tuple[Trainer, float, float]:
    """(trainer, final test accuracy, wall seconds including LR finders and caches)."""
    start = time.perf_counter()
    trainer = Trainer(build_schedule(params, data), data, config)
    records = list(trainer.run())
    return trainer, records[-1]["test_acc"], time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks finetune", description=__doc__.splitlines()[0])
    p.add_argument("--model", default="xresnet18", help="a model with a body to freeze (default xresnet18)")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--pretrain-epochs", type=float, default=30.0, help="epochs of the pretraining run (classes 0-4)")
    p.add_argument("--budget", type=float, default=15.0, help="epochs of every run on classes 5-9")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--no-cifar", action="store_true", help="use mnist5k even when the CIFAR-10 subset is present")
    p.add_argument("--stage-lr-rule", default=RunConfig.stage_lr_rule, help="LR finder rule at the unfreeze")
    args = p.parse_args(argv)
    cifar = not args.no_cifar and cifar_present()
    spec = CIFAR_SPEC if cifar else DataSpec("mnist5k")
    aug = {"crop_pad": 4, "flip": True} if cifar else {"crop_pad": 2}
    source = whole_train(DataSpec(spec.name, spec.root, classes=(0, 1, 2, 3, 4)))
    target = whole_train(DataSpec(spec.name, spec.root, classes=(5, 6, 7, 8, 9)))
    with tempfile.TemporaryDirectory() as tmp:
        base = RunConfig(model=args.model, width=args.width, evals=5, cache_dir=os.path.join(tmp, "cache"), monitor="test",
                         stage_lr_rule=args.stage_lr_rule)
        pre, pre_acc, pre_s = train(source, {"hypothesis": "baseline", "budget_epochs": args.pretrain_epochs, **aug}, base)
        weights = os.path.join(tmp, "pretrained.pt")
        torch.save(pre.model.state_dict(), weights)
        runs: dict[str, list] = {"scratch": [], "finetune_recipe": [], "pretrained_all_at_once": []}
        for seed in range(args.seeds):
            seeded = RunConfig(**{**base.__dict__, "seed": seed})
            tuned = RunConfig(**{**seeded.__dict__, "pretrained": weights})
            cases = {"scratch": ("baseline", seeded), "finetune_recipe": ("finetune", tuned),
                     "pretrained_all_at_once": ("baseline", tuned)}
            for name, (hypothesis, config) in cases.items():
                trainer, acc, seconds = train(target, {"hypothesis": hypothesis, "budget_epochs": args.budget, **aug},
                                              config)
                runs[name].append({"seed": seed, "test_acc": round(acc, 4), "seconds": round(seconds, 1),
                                   "stage_max_lr": {k: round(v, 6) for k, v in trainer.stage_lr.items()}})
                print(name, runs[name][-1], flush=True)
    summary = {name: {"mean_acc": round(statistics.mean(r["test_acc"] for r in rs), 4),
                      "sd_acc": round(statistics.stdev(r["test_acc"] for r in rs), 4) if len(rs) > 1 else 0.0,
                      "mean_seconds": round(statistics.mean(r["seconds"] for r in rs), 1)} for name, rs in runs.items()}
    emit("finetune", {"dataset": spec.name if not cifar else "cifar10 subset", "model": args.model, "width": args.width,
                      "pretrain": {"classes": "0-4", "epochs": args.pretrain_epochs, "test_acc": round(pre_acc, 4),
                                   "seconds": round(pre_s, 1)},
                      "finetune": {"classes": "5-9", "budget_epochs": args.budget, "augment": aug,
                                   "stage_lr_rule": args.stage_lr_rule},
                      "summary": summary, "runs": runs})


if __name__ == "__main__":
    main()
