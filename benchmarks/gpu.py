"""gpu: the CUDA path against the bare loop and against airbench (ResNet-9, CIFAR-10-shaped data).

On CUDA, three figures:
1. loop: the trainer's training clock against the bare forward/backward/step on identical
   pre-made batches (the same compiled model), ResNet-9 at full width, batch 1024, on 50,000
   CIFAR-shaped images (the CIFAR-10 subset in ../shared tiled to 50,000, or random pixels when it
   is absent: throughput does not depend on content). Target trainer_over_bare <= 1.05.
2. airbench: airbench's own training loop (`pip install airbench`: its `train94`, fp16,
   channels_last, batch 1024, data on the GPU) on the same 50,000 images, seconds per epoch,
   against this trainer's ResNet-9 at batch 1024 with crop and flip: airbench_over_ours. The two
   nets differ (airbench94's is narrower, with a whitening layer); what is compared is the loop.
3. target: time and test accuracy to `--target` on the CIFAR-10 subset (5,000 train / 2,000
   test), this trainer against airbench, each for `--epochs` epochs; the trainer evaluates every
   epoch and its clock counts training only.
Without CUDA it prints one JSON line saying so and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time

import torch

from benchmarks.common import CIFAR_SPEC, cifar_present, emit, sync, whole_train
from benchmarks.loop import measure
from tune_growth.data import ImageDataset
from tune_growth.schedule.builders import build_schedule
from tune_growth.train.config import RunConfig
from tune_growth.train.records import first_reaching
from tune_growth.train.trainer import Trainer

FULL = 50_000  # CIFAR-10's training images
BATCH = 1024  # airbench's batch, and default_batch_size("cuda", 50_000)


def cifar_shaped(subset: ImageDataset | None) -> ImageDataset:
    """50,000 CIFAR-shaped training images: the subset tiled, or random pixels without it."""
    if subset is None:
        g = torch.Generator().manual_seed(0)
        x = torch.randint(0, 256, (FULL, 3, 32, 32), dtype=torch.uint8, generator=g)
        y = torch.randint(0, 10, (FULL,), generator=g)
        return ImageDataset("random_cifar_shaped", x, y, x[:2000], y[:2000], tuple(map(str, range(10))),
                            (0.5,) * 3, (0.29,) * 3)
    reps = -(-FULL // len(subset.train_y))
    x, y = subset.train_x.repeat(reps, 1, 1, 1)[:FULL], subset.train_y.repeat(reps)[:FULL]
    return ImageDataset("cifar_subset_tiled", x, y, subset.test_x, subset.test_y, subset.classes, subset.mean, subset.std)


def airbench_folder(data: ImageDataset, folder: str) -> None:
    """`data` as airbench's CifarLoader reads it: cifar10/{train,test}.pt with NHWC uint8 images."""
    os.makedirs(os.path.join(folder, "cifar10"), exist_ok=True)
    for name, x, y in (("train", data.train_x, data.train_y), ("test", data.test_x, data.test_y)):
        torch.save({"images": x.permute(0, 2, 3, 1).contiguous(), "labels": y, "classes": list(data.classes)},
                   os.path.join(folder, "cifar10", f"{name}.pt"))


def run_airbench(data: ImageDataset, epochs: float) -> dict:
    """airbench94's own loop on `data` for `epochs`: seconds (its per-epoch evaluation on the test
    split included, as its loop does it) and final test accuracy."""
    import airbench  # optional: pip install airbench

    with tempfile.TemporaryDirectory() as folder:
        airbench_folder(data, folder)
        here = os.getcwd()
        os.chdir(folder)  # airbench's train() opens cifar10/test.pt relative to the working folder
        try:
            loader = airbench.CifarLoader("cifar10", train=True, batch_size=BATCH, aug={"flip": True, "translate": 2},
                                          altflip=True)
            with contextlib.redirect_stdout(io.StringIO()):
                airbench.warmup94(train_loader=loader, epochs=1, verbose=False)  # its compile and cuDNN warm-up
                sync(torch.device("cuda"))
                start = time.perf_counter()
                model = airbench.train94(train_loader=loader, epochs=epochs, verbose=False)
                sync(torch.device("cuda"))
                seconds = time.perf_counter() - start
                test = airbench.CifarLoader("cifar10", train=False, batch_size=2000)
                acc = airbench.evaluate(model, test, tta_level=0)
        finally:
            os.chdir(here)
    return {"seconds": round(seconds, 3), "seconds_per_epoch": round(seconds / epochs, 4), "test_acc": round(float(acc), 4)}


def run_ours(data: ImageDataset, epochs: float, batch: int | str, evals: int) -> tuple[list, Trainer]:
    """This trainer's ResNet-9 (full width, bf16, channels_last, compiled) with crop 2 and flip."""
    params = {"hypothesis": "baseline", "budget_epochs": epochs, "batch_size": batch, "crop_pad": 2, "flip": True}
    trainer = Trainer(build_schedule(params, data, device="cuda"), data,
                      RunConfig(model="resnet9", device="cuda", evals=evals, monitor="test"))
    return list(trainer.run()), trainer


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks gpu", description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5, help="timed epochs per variant in the loop ratio (median)")
    p.add_argument("--epochs", type=float, default=10.0, help="epochs for the airbench comparison and the target")
    p.add_argument("--target", type=float, default=0.70, help="test accuracy to reach on the CIFAR-10 subset")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        emit("gpu", {"cuda": False, "skipped": "no CUDA device on this machine; run it where torch.cuda.is_available()"})
        return
    subset = whole_train(CIFAR_SPEC) if cifar_present() else None
    shaped = cifar_shaped(subset)
    result: dict = {"cuda": True, "data": shaped.name,
                    "loop": measure(shaped, "resnet9", 1.0, 2, True, args.repeats, BATCH, device="cuda"),
                    "target_loop": "trainer_over_bare <= 1.05"}
    records, _ = run_ours(shaped, 2.0, BATCH, 2)  # the first epoch pays compilation: time the second
    first = records[0]["wall_seconds"]
    result["ours_seconds_per_epoch"] = round(records[-1]["wall_seconds"] - first, 4)
    result["ours_first_epoch_seconds"] = round(first, 3)  # with the compilation and cuDNN's search
    try:
        bench = run_airbench(shaped, 2.0)
        result["airbench_seconds_per_epoch"] = bench["seconds_per_epoch"]
        result["airbench_over_ours"] = round(bench["seconds_per_epoch"] / result["ours_seconds_per_epoch"], 3)
    except ImportError:
        result["airbench"] = "not installed (pip install airbench)"
    if subset is not None:
        records, trainer = run_ours(subset, args.epochs, "auto", max(1, round(args.epochs)))
        hit = first_reaching(records, args.target, "test_acc")
        result["subset"] = {"target": args.target, "epochs": args.epochs, "batch_size": trainer.schedule.batch_size,
                            "ours_seconds_to_target": None if hit is None else round(hit["wall_seconds"], 3),
                            "ours_seconds": round(records[-1]["wall_seconds"], 3),
                            "ours_test_acc": round(records[-1]["test_acc"], 4)}
        with contextlib.suppress(ImportError):
            result["subset"]["airbench"] = run_airbench(subset, args.epochs)
    emit("gpu", result)


if __name__ == "__main__":
    main()
