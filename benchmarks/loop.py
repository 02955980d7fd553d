"""loop: one trainer epoch divided by bare forward/backward/step on identical pre-made batches.

lenet5 on mnist5k, and a narrow ResNet-9 (width 0.25) on the CIFAR-10 subset in
../shared/data/cifar10 when it is present. The trainer's epoch excludes its single end-of-run
evaluation (timed separately and subtracted). Target <= 1.05.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from benchmarks.common import CIFAR_SPEC, cifar_present, emit, interleaved_medians, whole_train
from tune_growth.schedule.builders import build_schedule
from tune_growth.train.config import RunConfig
from tune_growth.train.device import autocast
from tune_growth.train.trainer import Trainer


def measure(data, model: str, width: float, crop: int, flip: bool, repeats: int, batch: int,
            device: str = "auto", epochs: float = 1.0) -> dict:
    """The trainer's training clock over `epochs` against the bare loop's on the same number of
    pre-made batches (the same model, compiled when the trainer compiles it)."""
    params = {"hypothesis": "baseline", "budget_epochs": epochs, "batch_size": batch, "max_lr": 0.05,
              "crop_pad": crop, "flip": flip}
    schedule = build_schedule(params, data)
    config = RunConfig(model=model, width=width, evals=1, monitor="test", device=device)
    probe = Trainer(schedule, data, config)
    size, on = data.image_size, probe.data  # the probe's copy lives on its device
    premade = [probe.augmenter.batch(on.train_x, on.train_y, torch.randint(0, len(on.train_y), (batch,), device=probe.device),
                                     size, probe.generator) for _ in range(probe.total_steps)]

    def bare() -> None:
        for b in premade:
            with autocast(probe.device, probe.precision):
                loss = F.cross_entropy(probe.train_model(b.x).float(), b.y)
            probe.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            probe.optimizer.step()

    def trainer_epoch() -> None:
        trainer = Trainer(schedule, data, config)
        records = list(trainer.run())
        trainer_epoch.seconds.append(records[-1]["wall_seconds"])  # the trainer's own clock: training only

    trainer_epoch.seconds = []
    bare()  # warm-up
    sec = interleaved_medians({"bare": bare, "trainer": trainer_epoch}, repeats, probe.device)
    train = sorted(trainer_epoch.seconds)[len(trainer_epoch.seconds) // 2]
    return {"model": model, "width": width, "dataset": data.name, "steps": probe.total_steps, "batch_size": batch,
            "precision": probe.precision, "compiled": probe.compiled,
            "images_per_second": round(probe.total_steps * batch / train),
            "bare_images_per_second": round(probe.total_steps * batch / sec["bare"]),
            "bare_seconds": round(sec["bare"], 4), "trainer_seconds": round(train, 4),
            "trainer_over_bare": round(train / sec["bare"], 3)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks loop", description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7, help="timed epochs per variant (median)")
    p.add_argument("--no-cifar", action="store_true", help="skip the CIFAR-10 subset case")
    args = p.parse_args(argv)
    cases = [measure(whole_train("mnist5k"), "lenet5", 1.0, 2, False, args.repeats, 128)]
    if not args.no_cifar and cifar_present():
        cases.append(measure(whole_train(CIFAR_SPEC), "resnet9", 0.25, 4, True, max(2, args.repeats // 3), 128))
    emit("loop", {"cases": cases, "target": "trainer_over_bare <= 1.05",
                  "cifar_subset": "measured" if len(cases) > 1 else "absent or skipped"})


if __name__ == "__main__":
    main()
