"""Batched augmentation on the training device, and an index stream that draws batches from a subset.

Everything here works on whole batches (no per-example Python, no DataLoader workers), and a stage's
examples are an index tensor into the one stored uint8 tensor: batches are gathered, never the set.
Geometric augmentation (pad-crop, flip, cutout) runs on uint8 at the stored resolution, so its
pixel sizes mean the same at every stage; then the batch is converted to float, resized to the
stage's image size and normalized.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation switches. Pixel sizes are at the dataset's full resolution.

    crop_pad: random translation by up to this many pixels, reflect-padded (0 = off).
    flip: random horizontal flip with probability 1/2 (wrong for digits; off by default).
    cutout: side in pixels of one square per image filled with the channel mean (0 = off).
    mixup_alpha: Beta(alpha, alpha) mixing of each image with its batch neighbour (0 = off).
    """

    crop_pad: int = 0
    flip: bool = False
    cutout: int = 0
    mixup_alpha: float = 0.0

    def __post_init__(self) -> None:
        for name in ("crop_pad", "cutout"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"augmentation {name}={value!r} is invalid; expected an integer >= 0 (pixels)")
        if not (0.0 <= float(self.mixup_alpha) <= 10.0):
            raise ValueError(f"augmentation mixup_alpha={self.mixup_alpha!r} is invalid; expected 0 (off) to 10")

    def to_dict(self) -> dict:
        return asdict(self)


class Batch(NamedTuple):
    """A training batch: inputs, labels, and for mixup the partner labels and the mixing weight."""

    x: torch.Tensor
    y: torch.Tensor
    y_mix: torch.Tensor | None = None
    lam: float = 1.0


def _reflect(v: torch.Tensor, size: int) -> torch.Tensor:
    """Map coordinates in [-pad, size-1+pad] into [0, size-1] as reflect padding does (no edge repeat)."""
    v = v.abs()
    return torch.where(v > size - 1, 2 * (size - 1) - v, v)


def gather_crop(store: torch.Tensor, idx: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Gather images `idx` from `store` (N,C,H,W), each translated by its own random offset in
    [-pad, pad] px with reflect padding. One `take` straight from the store: no gathered copy, no
    padded copy, so the cost is one pass over the output batch."""
    n, (_, c, h, w) = idx.numel(), store.shape
    if pad >= min(h, w):
        raise ValueError(f"crop_pad={pad} px is too large for {h}x{w} px images; expected < {min(h, w)}")
    dev = store.device
    dy = torch.randint(-pad, pad + 1, (n, 1), generator=generator, device=dev)
    dx = torch.randint(-pad, pad + 1, (n, 1), generator=generator, device=dev)
    rows = _reflect(dy + torch.arange(h, device=dev), h)  # n, h source rows
    cols = _reflect(dx + torch.arange(w, device=dev), w)  # n, w source columns
    base = idx.view(n, 1, 1, 1) * (c * h * w) + torch.arange(c, device=dev).view(1, c, 1, 1) * (h * w)
    flat = base + (rows * w).view(n, 1, h, 1) + cols.view(n, 1, 1, w)
    return store.reshape(-1).take(flat)


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flip each image left-right with probability 1/2."""
    mask = torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=x.device) < 0.5
    return torch.where(mask, x.flip(-1), x)


def cutout(x: torch.Tensor, size: int, fill: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Fill one size x size square per image (centre uniform over the image, clipped at edges)."""
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n, 1, 1, 1), generator=generator, device=x.device)
    cx = torch.randint(0, w, (n, 1, 1, 1), generator=generator, device=x.device)
    ys = torch.arange(h, device=x.device).view(1, 1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, 1, w)
    half = size // 2
    inside = (ys >= cy - half) & (ys < cy - half + size) & (xs >= cx - half) & (xs < cx - half + size)
    return torch.where(inside, fill.view(1, -1, 1, 1).to(x.dtype), x)


def resize_batch(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize of a float batch to size x size px, antialiased when shrinking."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                         antialias=size < x.shape[-1])


def host_generator(generator: torch.Generator, seed: int) -> torch.Generator:
    """The CPU generator for draws the host needs as numbers (mixup's weight) beside `generator`:
    `generator` itself on the CPU (so CPU runs draw as before), else a CPU generator seeded alike,
    so drawing never waits for the device."""
    return generator if generator.device.type == "cpu" else torch.Generator().manual_seed(seed)


def mixup(x: torch.Tensor, y: torch.Tensor, alpha: float, generator: torch.Generator) -> Batch:
    """Mix each image with its neighbour in the batch (the roll-by-one pairing torchvision's MixUp
    uses), weight lam ~ Beta(alpha, alpha) drawn once per batch from `generator`, a CPU generator
    (lam is a Python float: a device generator would make every batch wait for the device)."""
    if generator.device.type != "cpu":
        raise ValueError(f"mixup draws its weight on the host; expected a CPU generator, got {generator.device}")
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    return Batch(lam * x + (1.0 - lam) * x.roll(1, 0), y, y.roll(1, 0), lam)


class Augmenter:
    """Turns a gathered uint8 batch into a normalized float batch at a stage's image size."""

    def __init__(self, config: AugmentConfig, mean: tuple[float, ...], std: tuple[float, ...],
                 device: torch.device, channels_last: bool = False) -> None:
        self.config = config
        mean_t = torch.tensor(mean, device=device, dtype=torch.float32).view(1, -1, 1, 1)
        std_t = torch.tensor(std, device=device, dtype=torch.float32).view(1, -1, 1, 1)
        # (x/255 - mean) / std as one fused multiply-add on the uint8 values: x * scale + shift
        self.scale, self.shift = 1.0 / (255.0 * std_t), -mean_t / std_t
        self.fill = torch.tensor([round(m * 255) for m in mean], device=device, dtype=torch.uint8)
        self.channels_last = channels_last

    def __call__(self, x: torch.Tensor, y: torch.Tensor, size: int, generator: torch.Generator,
                 train: bool = True) -> Batch:
        """Augment (when `train`) and normalize a gathered uint8 batch."""
        return self.batch(x, y, None, size, generator, train)

    def batch(self, store_x: torch.Tensor, store_y: torch.Tensor, idx: torch.Tensor | None, size: int,
              generator: torch.Generator, train: bool = True, host: torch.Generator | None = None) -> Batch:
        """The examples `idx` of the stored tensors (all of them when None), augmented when
        `train`, normalized and resized to `size` px. Cropping gathers straight from the store.
        `host`: the CPU generator mixup's weight comes from (default: `generator`, on a CPU)."""
        cfg = self.config
        y = store_y if idx is None else store_y[idx]
        if train and cfg.crop_pad:
            all_idx = torch.arange(len(store_x), device=store_x.device) if idx is None else idx
            x = gather_crop(store_x, all_idx, cfg.crop_pad, generator)
        else:
            x = store_x if idx is None else store_x[idx]
        if train and cfg.flip:
            x = random_flip(x, generator)
        if train and cfg.cutout:
            x = cutout(x, cfg.cutout, self.fill, generator)
        return self.mix(self.normalize(x, size), y, generator if host is None else host, train)

    def moves_pixels(self, train: bool = True) -> bool:
        """Whether a training batch is cropped, flipped or cut out (geometry at the stored size)."""
        cfg = self.config
        return train and bool(cfg.crop_pad or cfg.flip or cfg.cutout)

    def prepare(self, store_x: torch.Tensor, size: int, draws: int, memory_mb: float,
                train: bool = True) -> torch.Tensor | None:
        """The whole store normalized (and resized) at `size` px, for a stage whose batches can be
        gathered from it: nothing moves pixels, the stage draws at least one pass over the store
        (`draws` examples: no more normalizing than per batch), and the float32 copy fits in
        `memory_mb` MiB. None otherwise. The same numbers as per batch: normalizing and resizing
        are per image. On the CPU it measured within 7% of per batch (README, the GPU path)."""
        n, c = store_x.shape[:2]
        if self.moves_pixels(train) or draws < n or n * c * size ** 2 * 4 / 2**20 > memory_mb:
            return None
        return self.normalize(store_x, size)

    def mix(self, x: torch.Tensor, y: torch.Tensor, host: torch.Generator, train: bool = True) -> Batch:
        """A normalized batch, mixed up when `train` and mixup is on (weight from CPU generator `host`)."""
        if train and self.config.mixup_alpha > 0:
            return mixup(x, y, self.config.mixup_alpha, host)
        return Batch(x, y)

    def normalize(self, x: torch.Tensor, size: int) -> torch.Tensor:
        """uint8 -> (x/255 - mean) / std -> resized to `size` px. Normalizing first is exact
        (bilinear resizing is linear and preserves constants) and fuses into one op."""
        x = resize_batch(torch.addcmul(self.shift, x.float(), self.scale), size)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


class IndexStream:
    """An endless stream of index batches over a subset: concatenated seeded permutations, so every
    example is seen once per pass and a subset smaller than a batch still fills it. Its state
    (current permutation and position) saves and loads for exact resume.

    `host_copy`: also keep each permutation on the host (one copy per pass over the subset, not
    per batch) and the last batch's host indices in `last_host`, for gathers from host memory
    (a memory-mapped activation cache) that would otherwise copy every batch's indices back."""

    def __init__(self, indices: torch.Tensor, generator: torch.Generator, host_copy: bool = False) -> None:
        if indices.numel() == 0:
            raise ValueError("IndexStream needs a non-empty index subset")
        self.indices = indices.to(generator.device)
        self.generator = generator
        # The first permutation is drawn on the first `next`, so building a stream consumes no
        # randomness: a resumed run can build it, restore the generator, then load the state.
        self.perm = indices[:0].to(generator.device)
        self.pos = 0
        self.host_copy = host_copy
        self.perm_host = self.perm.cpu() if host_copy else None
        self.last_host: torch.Tensor | None = None

    def _new_perm(self) -> torch.Tensor:
        n = self.indices.numel()
        return self.indices[torch.randperm(n, generator=self.generator, device=self.generator.device)]

    def next(self, batch_size: int) -> torch.Tensor:
        parts, host, need = [], [], batch_size
        while need > 0:
            if self.pos == self.perm.numel():
                self.perm, self.pos = self._new_perm(), 0
                if self.host_copy:
                    self.perm_host = self.perm.cpu()
            take = min(need, self.perm.numel() - self.pos)
            parts.append(self.perm[self.pos:self.pos + take])
            if self.host_copy:
                host.append(self.perm_host[self.pos:self.pos + take])
            self.pos += take
            need -= take
        if self.host_copy:
            self.last_host = host[0] if len(host) == 1 else torch.cat(host)
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def state_dict(self) -> dict:
        return {"perm": self.perm.cpu(), "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.perm, self.pos = state["perm"].to(self.indices.device), int(state["pos"])
        if self.host_copy:
            self.perm_host = state["perm"].cpu()


def iterate_batches(x: torch.Tensor, y: torch.Tensor, stream: IndexStream, augmenter: Augmenter,
                    batch_size: int, n_batches: int, size: int):
    """Yield `n_batches` augmented batches of `batch_size` drawn from `stream` (gathered from x, y)."""
    for _ in range(n_batches):
        yield augmenter.batch(x, y, stream.next(batch_size), size, stream.generator)
