"""Single run: `python -m tune_growth.train --dataset mnist5k --model lenet5 --hypothesis h1 --out DIR`.

Builds a schedule from flags (or reads --schedule FILE.json), trains it with a progress bar, and
writes DIR/schedule.json, DIR/metrics.parquet (one row per evaluation) and DIR/model.pt (the final
weights, loadable with --pretrained). The last line printed is a one-line JSON summary. Bad input
exits with code 2 and a one-line message before any training.

Fine-tuning, fastai's way: pretrain on some classes, then fine-tune on the others,
  python -m tune_growth.train --model xresnet18 --classes 0-4 --out pre
  python -m tune_growth.train --model xresnet18 --classes 5-9 --hypothesis finetune --pretrained pre/model.pt --out ft
(`--pretrained` also takes a torchvision resnet18/34/50 state dict, or `imagenet` to download one.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from tune_growth.cli import (
    OneLineParser,
    add_budget_unit,
    checked,
    count,
    fail,
    importable_here,
    label_noise,
    positive,
    width,
)
from tune_growth.data import DATASETS, DatasetError, DataSpec, load_dataset, parse_classes
from tune_growth.io import atomic_write, atomic_write_parquet, atomic_write_text
from tune_growth.models.registry import MODELS, check_model_name
from tune_growth.schedule.builders import DEFAULTS, HYPOTHESES, build_schedule, parse_sets
from tune_growth.schedule.core import BUDGET_UNITS, Schedule, ScheduleError
from tune_growth.train.config import RunConfig
from tune_growth.train.device import COMPILE_CHOICES, PRECISIONS, pick_device
from tune_growth.train.lr_finder import SUGGESTIONS
from tune_growth.train.trainer import Trainer


def _max_lr(text: str):
    if text == "find":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--lr {text!r} is invalid; expected a positive number or 'find'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"--lr {text!r} is invalid; expected a positive number or 'find'")
    return value


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m tune_growth.train", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="mnist5k", choices=sorted(DATASETS), help="registered dataset")
    p.add_argument("--data-root", default=None, help="folder holding the dataset's files (not needed for mnist5k, digits)")
    p.add_argument("--download", action="store_true", help="let torchvision download (machines with internet)")
    p.add_argument("--image-size", type=int, default=None, help="decode size in px for image folders (folder, imagenette; default 64)")
    p.add_argument("--classes", default=None, help="keep only these class ids, e.g. 0-4 or 0,2,5-7 (relabelled 0..k-1)")
    p.add_argument("--label-noise", type=label_noise(), default=0.0, metavar="P",
                   help="a fraction of the training labels replaced by another class (seeded; validation and "
                        "test untouched), e.g. 0.2")
    p.add_argument("--val-fraction", default=0.1,
                   type=checked("--val-fraction", float, lambda v: 0 <= v < 1, "a fraction in [0, 1), e.g. 0.1"),
                   help="share of each class's training examples held out for validation, evaluated at every "
                        "record (default 0.1); 0 trains on all of them and evaluates the test split instead")
    p.add_argument("--model", default="lenet5", type=importable_here(check_model_name), metavar="MODEL",
                   help=f"a registered model ({', '.join(sorted(MODELS))}) or your own, package.module:factory")
    p.add_argument("--width", type=width(), default=1.0, help="channel multiplier (e.g. 0.25 for a narrow resnet9)")
    p.add_argument("--pretrained", default=None, metavar="PATH",
                   help="weights for everything but the head: a model.pt from this command, a torchvision "
                        "resnet state dict, or 'imagenet' (torchvision's, downloaded once)")
    p.add_argument("--no-precompute", action="store_true",
                   help="run frozen stages through the whole model instead of on cached activations")
    p.add_argument("--hypothesis", default="baseline", choices=list(HYPOTHESES), help="what grows over the stages")
    p.add_argument("--schedule", type=Path, default=None, help="a schedule JSON file (overrides builder flags)")
    p.add_argument("--lr", type=_max_lr, default="find", help="max LR, or 'find' for the LR finder's suggestion")
    p.add_argument("--lr-rule", default="steep", choices=SUGGESTIONS, help="LR finder suggestion used with --lr find")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help=f"any builder parameter, e.g. --set stages=4 --set h1_selection=diverse "
                        f"(names: {', '.join(sorted(DEFAULTS))})")
    p.add_argument("--budget", type=positive("--budget", "a positive number of epochs"), default=None,
                   help="total budget in epochs of the full training set (see --budget-unit)")
    add_budget_unit(p, BUDGET_UNITS)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--compile", default="auto", choices=COMPILE_CHOICES,
                   help="torch.compile the training step (auto: on CUDA only)")
    p.add_argument("--precision", default="auto", choices=PRECISIONS, help="autocast precision")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation and data order")
    p.add_argument("--evals", type=count("--evals"), default=20, help="evaluations spread over the budget (plus stage ends)")
    p.add_argument("--out", type=Path, required=True, help="output folder (created)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = RunConfig(model=args.model, width=args.width, device=args.device, precision=args.precision,
                           compile=args.compile,
                           seed=args.seed, evals=args.evals, lr_rule=args.lr_rule, pretrained=args.pretrained,
                           precompute=not args.no_precompute, monitor="val" if args.val_fraction > 0 else "test")
        classes = None if args.classes is None else parse_classes(args.classes)
        data = load_dataset(DataSpec(args.dataset, args.data_root, args.download, args.image_size, classes,
                                     args.val_fraction, args.label_noise))
        if args.schedule is not None:
            if not args.schedule.is_file():
                raise ScheduleError(f"--schedule {str(args.schedule)!r} is not a file; expected a schedule JSON file")
            schedule = Schedule.from_json(args.schedule.read_text())
        else:
            params = {"hypothesis": args.hypothesis, "max_lr": args.lr, **parse_sets(args.set)}
            if args.budget is not None:
                params["budget_epochs"] = args.budget
            if args.budget_unit is not None:
                params["budget_unit"] = args.budget_unit
            schedule = build_schedule(params, data, device=pick_device(args.device).type)
        trainer = Trainer(schedule, data, config)
    except (DatasetError, ScheduleError, ValueError) as err:
        return fail(str(err))
    return run(trainer, args.out, args.quiet)


def run(trainer: Trainer, out: Path, quiet: bool = False) -> int:
    """Train, showing progress; write schedule.json, metrics.parquet and model.pt; print the JSON summary."""
    schedule, started = trainer.schedule, time.perf_counter()
    atomic_write_text(out / "schedule.json", json.dumps(schedule.to_dict(), indent=2, sort_keys=True))
    print(f"{schedule.hypothesis}: {schedule.describe()}", file=sys.stderr)
    records, monitor = [], trainer.config.monitor
    with tqdm(total=trainer.total_steps, unit="step", disable=quiet, file=sys.stderr) as bar:
        for record in trainer.run():
            records.append(record)
            bar.update(record["step"] - bar.n)
            bar.set_postfix({"stage": record["stage"], "px": record["image_size"], "loss": f"{record['train_loss']:.3f}",
                             f"{monitor} acc": f"{record[f'{monitor}_acc']:.3f}"})
    atomic_write_parquet(out / "metrics.parquet", pd.DataFrame(records))
    atomic_write(out / "model.pt", lambda f: torch.save(trainer.model.state_dict(), f))
    last = records[-1]
    stage_lrs = {str(k): v for k, v in sorted(trainer.stage_lr.items())}
    val_acc = None if last["val_acc"] is None else round(last["val_acc"], 4)
    print(json.dumps({"status": last["status"], "val_acc": val_acc, "test_acc": round(last["test_acc"], 4),
                      "max_lr": trainer.max_lr, "stage_max_lr": stage_lrs,
                      "train_seconds": round(last["wall_seconds"], 2), "eval_seconds": round(last["eval_seconds"], 2),
                      "seconds": round(time.perf_counter() - started, 2), "examples": last["examples"],
                      "schedule": schedule.describe(), "out": str(out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
