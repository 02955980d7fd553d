"""pipeline: the batch iterator with on-device batched augmentation against (a) bare
forward/backward/step on identical pre-made batches and (b) torchvision Dataset + DataLoader with
per-example transforms.v2, at 0 and 2 workers. lenet5 on mnist5k, pad-crop 2 px, batch 512.

The DataLoader baseline is the standard torchvision form: a VisionDataset whose __getitem__ hands
out a PIL image as torchvision.datasets.MNIST does, and v2.ToImage -> RandomCrop -> ToDtype ->
Normalize. A second, kinder variant feeds uint8 tensors straight to the transforms (no PIL): the
DataLoader's best case, reported beside it.

Ratios: iterator_over_bare (target <= 1.05), dataloader_w{0,2}_over_iterator (target >= 2.8).
"""

from __future__ import annotations

import argparse
from typing import Callable

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.datasets import VisionDataset
from torchvision.transforms import v2

from benchmarks.common import emit, interleaved_medians
from tune_growth.data import load_dataset
from tune_growth.data.augment import AugmentConfig, Augmenter, IndexStream, iterate_batches
from tune_growth.models.registry import build_model
from tune_growth.train.device import autocast, pick_device, resolve_precision, use_channels_last


class _TensorImages(Dataset):
    """One uint8 CHW tensor example at a time through a per-example transform (no PIL)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform) -> None:
        self.x, self.y, self.transform = x, y, transform

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.transform(self.x[i]), self.y[i]


class _PILImages(VisionDataset):
    """What torchvision.datasets.MNIST does per example: uint8 array -> PIL image -> transform."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform) -> None:
        super().__init__(root=None, transform=transform)
        self.x, self.y = x[:, 0].numpy() if x.shape[1] == 1 else x.permute(0, 2, 3, 1).numpy(), y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.transform(Image.fromarray(self.x[i])), self.y[i]


def make_loaders(data, batch_size: int) -> dict:
    """The torchvision baselines: (kind, workers) -> DataLoader, kind "pil" (the standard form)
    or "tensor" (uint8 tensors, no PIL), with the same pad-crop and normalization per example."""
    per_example = [v2.RandomCrop(data.image_size, padding=2, padding_mode="reflect"),
                   v2.ToDtype(torch.float32, scale=True), v2.Normalize(data.mean, data.std)]
    cpu_x, cpu_y = data.train_x.cpu(), data.train_y.cpu()
    datasets = {"pil": _PILImages(cpu_x, cpu_y, v2.Compose([v2.ToImage(), *per_example])),
                "tensor": _TensorImages(cpu_x, cpu_y, v2.Compose(per_example))}
    return {(kind, w): DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=w, persistent_workers=w > 0)
            for kind, ds in datasets.items() for w in (0, 2)}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks pipeline", description=__doc__)
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per variant (median taken)")
    parser.add_argument("--batch-size", type=int, default=512, help="examples per batch")
    parser.add_argument("--model", default="lenet5", help="registered model name")
    parser.add_argument("--precision", default="auto", help="auto, fp32 or bf16")
    return parser


def variants(data, model_name: str, precision: str, channels_last: bool, bs: int,
             device: torch.device) -> dict[str, Callable[[], None]]:
    """One epoch of SGD steps per variant, all on one model and optimizer: the bare steps on
    pre-made batches, the batch iterator, and the DataLoaders (PIL or tensors, 0 or 2 workers)."""
    model = build_model(model_name, data.channels, data.num_classes).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    aug = Augmenter(AugmentConfig(crop_pad=2), data.mean, data.std, device, channels_last)
    gen = torch.Generator(device).manual_seed(0)
    stream = IndexStream(torch.arange(len(data.train_y), device=device), gen)
    n, size = len(data.train_y), data.image_size
    n_batches = -(-n // bs)  # one epoch, rounded up to whole batches

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        with autocast(device, precision):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    premade = [(b.x.clone(), b.y.clone()) for b in iterate_batches(
        data.train_x, data.train_y, stream, aug, bs, n_batches, size)]
    loaders = make_loaders(data, bs)

    def run_loader(kind: str, workers: int) -> None:
        for x, y in loaders[kind, workers]:
            x = x.to(device, non_blocking=True)
            step(x.contiguous(memory_format=torch.channels_last) if channels_last else x, y.to(device))

    return {
        "bare": lambda: [step(x, y) for x, y in premade],
        "iterator": lambda: [step(b.x, b.y) for b in iterate_batches(
            data.train_x, data.train_y, stream, aug, bs, n_batches, size)],
        "dataloader_w0": lambda: run_loader("pil", 0),
        "dataloader_w2": lambda: run_loader("pil", 2),
        "dataloader_tensor_w0": lambda: run_loader("tensor", 0),
        "dataloader_tensor_w2": lambda: run_loader("tensor", 2),
    }


def ratios(sec: dict[str, float]) -> dict[str, float]:
    """The ratios the README reports, from each variant's median epoch seconds."""
    return {"iterator_over_bare": round(sec["iterator"] / sec["bare"], 3),
            "dataloader_w0_over_iterator": round(sec["dataloader_w0"] / sec["iterator"], 2),
            "dataloader_w2_over_iterator": round(sec["dataloader_w2"] / sec["iterator"], 2),
            "dataloader_w0_over_bare": round(sec["dataloader_w0"] / sec["bare"], 2),
            "dataloader_tensor_w0_over_iterator": round(sec["dataloader_tensor_w0"] / sec["iterator"], 2),
            "dataloader_tensor_w2_over_iterator": round(sec["dataloader_tensor_w2"] / sec["iterator"], 2)}


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    torch.manual_seed(0)
    device = pick_device("auto")
    data = load_dataset("mnist5k", device)
    precision = resolve_precision(args.precision, device, args.model)
    channels_last = use_channels_last(device, args.model)
    fns = variants(data, args.model, precision, channels_last, args.batch_size, device)
    interleaved_medians(fns, 1, device)  # warm-up: kernels, worker start-up, allocator
    sec = interleaved_medians(fns, args.repeats, device)
    emit("pipeline", {
        "model": args.model, "dataset": "mnist5k", "examples_per_epoch": len(data.train_y),
        "batch_size": args.batch_size, "precision": precision, "channels_last": channels_last,
        "device": str(device), "epoch_seconds": {k: round(v, 4) for k, v in sec.items()}, **ratios(sec),
        "targets": {"iterator_over_bare": "<= 1.05", "dataloader_over_iterator": ">= 2.8"},
    })


if __name__ == "__main__":
    main()
