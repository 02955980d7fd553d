"""The one value type every dataset loader returns, and the helpers loaders share."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Union

import numpy as np
import torch

# A class hierarchy is a tree of nested tuples whose leaves are class ids, e.g.
# ((0, 8), (1, 9), (2, 6, (3, 5), (4, 7))) for CIFAR-10's WordNet tree.
Hierarchy = tuple


class DatasetError(ValueError):
    """Bad dataset input: the message is one line naming the path or value and what was expected."""


@dataclass(frozen=True)
class DataSpec:
    """Which dataset to load and from where: small and JSON-friendly, so it can sit in a trial config.

    `root` is a folder (or, for `npz`, a folder holding one *train*.npz and one *test*.npz);
    `image_size` (pixels, square) matters only for datasets decoded from image files (imagenette);
    `classes` keeps only these class ids, relabelled 0..k-1 in the order given (e.g. pretrain on
    half of CIFAR-10's classes and fine-tune on the other half); `val_fraction` of each class's
    training examples becomes the validation split (seeded, stratified, `carve_validation`): what
    searches select on, so the test split is left for the final report; `label_noise` of the
    training examples left (seeded) get a wrong label, validation and test untouched
    (`add_label_noise`).
    """

    name: str = "mnist5k"
    root: str | None = None
    download: bool = False
    image_size: int | None = None
    classes: tuple[int, ...] | None = None
    val_fraction: float = 0.1
    label_noise: float = 0.0

    def absolute(self) -> DataSpec:
        """The same spec with `root` absolute, `~` and `..` resolved: what a search records and a
        study compares, so one folder spelled two ways is one dataset."""
        return self if self.root is None else replace(self, root=str(Path(self.root).expanduser().resolve()))


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A whole dataset held as tensors: uint8 images NCHW and int64 labels, train, validation
    and test (the validation split may be empty: `val_x`/`val_y` default to no examples).

    `mean`/`std` are per channel in [0, 1] units, computed on the training split. A stage's
    classes and examples are index tensors into `train_x`; the images are never copied.
    `fingerprint` is a hash of the arrays' content (computed once, on first use, and carried
    along by `to()` and the trial payload): every disk cache that depends on the data keys on it,
    so two datasets of the same name and size never share a cached result.
    """

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    hierarchy: Hierarchy | None = None
    val_x: torch.Tensor | None = None
    val_y: torch.Tensor | None = None
    content_hash: str | None = None  # see `fingerprint`; pass it only when it is known to be this content's

    def __post_init__(self) -> None:
        if self.val_x is None:  # no validation split: zero examples of the same shape
            object.__setattr__(self, "val_x", self.train_x[:0])
            object.__setattr__(self, "val_y", self.train_y[:0])
        n_classes = len(self.classes)
        for split, x, y in self.splits():
            if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] not in (1, 3):
                raise DatasetError(
                    f"{self.name}: {split} images have dtype {x.dtype} and shape {tuple(x.shape)}; "
                    "expected uint8 N x C x H x W with C in (1, 3)")
            if y.dtype != torch.int64 or y.dim() != 1 or len(y) != len(x):
                raise DatasetError(
                    f"{self.name}: {split} labels have dtype {y.dtype} and shape {tuple(y.shape)}; "
                    f"expected int64 of length {len(x)}")
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= n_classes):
                raise DatasetError(
                    f"{self.name}: {split} labels span {int(y.min())}..{int(y.max())}; "
                    f"expected 0..{n_classes - 1} for {n_classes} classes")
        if self.train_x.shape[1:] != self.test_x.shape[1:] or (len(self.val_x) and self.val_x.shape[1:] != self.train_x.shape[1:]):
            raise DatasetError(f"{self.name}: train images {tuple(self.train_x.shape[1:])}, validation images "
                               f"{tuple(self.val_x.shape[1:])} and test images {tuple(self.test_x.shape[1:])} differ "
                               "in shape; expected equal")
        if self.hierarchy is not None and sorted(hierarchy_leaves(self.hierarchy)) != list(range(n_classes)):
            raise DatasetError(f"{self.name}: hierarchy leaves {sorted(hierarchy_leaves(self.hierarchy))} "
                               f"are not exactly the class ids 0..{n_classes - 1}")

    def splits(self) -> tuple[tuple[str, torch.Tensor, torch.Tensor], ...]:
        """(name, images, labels) of the train, validation and test splits."""
        return (("train", self.train_x, self.train_y), ("val", self.val_x, self.val_y),
                ("test", self.test_x, self.test_y))

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(images, labels) of split `name`: train, val or test."""
        for split, x, y in self.splits():
            if split == name:
                return x, y
        raise ValueError(f"split {name!r} is unknown; expected train, val or test")

    @property
    def fingerprint(self) -> str:
        """Hex digest (BLAKE2b, 128 bits) of the classes, class names and every split's images
        and labels (shapes, dtypes and bytes): equal content, equal fingerprint, on every machine.
        Hashing runs at about 1 GB/s, once per object (0.2 s for all of CIFAR-10)."""
        if self.content_hash is None:
            h = hashlib.blake2b(digest_size=16)
            h.update(repr((self.classes, self.hierarchy)).encode())
            for split, x, y in self.splits():
                for t in (x, y):
                    h.update(f"{split}:{t.dtype}:{tuple(t.shape)}".encode())
                    h.update(t.detach().cpu().contiguous().numpy().tobytes())
            object.__setattr__(self, "content_hash", h.hexdigest())
        return self.content_hash

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def channels(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def image_size(self) -> int:
        """Full image side in pixels (datasets here are square)."""
        return int(self.train_x.shape[-1])

    @property
    def device(self) -> torch.device:
        return self.train_x.device

    def to(self, device: Union[str, torch.device]) -> "ImageDataset":
        """The same dataset with its four tensors on `device` (one copy per process, then indexed)."""
        device = torch.device(device)
        if self.device == device:
            return self
        move = lambda t: t.to(device, non_blocking=True)  # noqa: E731
        return replace(self, **{k: move(getattr(self, k)) for k in TENSOR_FIELDS}, content_hash=self.fingerprint)

    def examples_per_class(self) -> torch.Tensor:
        """Training examples of each class, as an int64 tensor of length num_classes."""
        return torch.bincount(self.train_y.cpu(), minlength=self.num_classes)


TENSOR_FIELDS = ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")
VAL_SEED = 0  # the validation split's seed: fixed, so every search, study and machine carves the same one


def hierarchy_leaves(tree: Hierarchy | int) -> list[int]:
    """Class ids at the leaves of a nested-tuple hierarchy, left to right."""
    if isinstance(tree, (int, np.integer)):
        return [int(tree)]
    return [leaf for sub in tree for leaf in hierarchy_leaves(sub)]


def channel_stats(x: torch.Tensor, chunk: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 NCHW images, in [0, 1] units. Sums accumulate in float64
    over chunks of images, so the peak memory is one chunk, not the dataset in float64 (which
    was 1.2 GB for 50,000 CIFAR-sized images)."""
    total = torch.zeros(x.shape[1], dtype=torch.float64)
    squares = torch.zeros(x.shape[1], dtype=torch.float64)
    for part in x.split(chunk):
        flat = part.transpose(0, 1).reshape(x.shape[1], -1).double() / 255.0
        total += flat.sum(dim=1)
        squares += (flat * flat).sum(dim=1)
    n = x.numel() // x.shape[1]
    mean = total / n
    std = ((squares - n * mean * mean) / max(1, n - 1)).clamp_min(0).sqrt().clamp_min(1e-3)
    return tuple(round(float(m), 6) for m in mean), tuple(round(float(s), 6) for s in std)


def stratified_split(y: np.ndarray, test_fraction: float, seed: int = 0,
                     min_per_class: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified split: within each class, a seeded permutation (numpy PCG64) puts
    the first round(test_fraction * n_class) examples, at least `min_per_class` and never all,
    in the second part. Returns sorted (kept_idx, split_idx)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        n_test = min(len(idx) - 1, max(min_per_class, int(round(test_fraction * len(idx)))))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def from_arrays(name: str, train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
                test_y: np.ndarray, classes: tuple[str, ...], hierarchy: Hierarchy | None = None,
                source: str | Path | None = None) -> ImageDataset:
    """Build an ImageDataset from numpy arrays of uint8 images (N,H,W), (N,H,W,C) or (N,C,H,W).

    Channel layout is inferred: a last axis of 1 or 3 is HWC, else a second axis of 1 or 3 is CHW.
    `source` names the file or folder in error messages.
    """
    where = f" ({source})" if source else ""
    tensors = []
    for split, x in (("train", train_x), ("test", test_x)):
        x = np.asarray(x)
        if x.dtype != np.uint8:
            raise DatasetError(f"{name}{where}: {split} images have dtype {x.dtype}; expected uint8")
        if x.ndim == 3:
            x = x[:, None]
        elif x.ndim == 4 and x.shape[-1] in (1, 3):
            x = x.transpose(0, 3, 1, 2)
        elif not (x.ndim == 4 and x.shape[1] in (1, 3)):
            raise DatasetError(f"{name}{where}: {split} images have shape {x.shape}; "
                               "expected (N,H,W), (N,H,W,C) or (N,C,H,W) with C in (1, 3)")
        tensors.append(torch.from_numpy(np.ascontiguousarray(x)))
    labels = []
    for split, y in (("train", train_y), ("test", test_y)):
        y = np.asarray(y)
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise DatasetError(f"{name}{where}: {split} labels have dtype {y.dtype} and shape {y.shape}; "
                               "expected a 1-D integer array")
        labels.append(torch.from_numpy(y.astype(np.int64)))
    mean, std = channel_stats(tensors[0])
    try:
        return ImageDataset(name, tensors[0], labels[0], tensors[1], labels[1], tuple(classes),
                            mean, std, hierarchy)
    except DatasetError as err:
        raise DatasetError(f"{err}{where}") from None


def _prune(tree: Hierarchy | int, remap: dict[int, int]) -> Hierarchy | int | None:
    """The hierarchy restricted to the kept leaves (relabelled); empty subtrees vanish and a
    subtree left with one child is replaced by it."""
    if isinstance(tree, (int, np.integer)):
        return remap.get(int(tree))
    kept = [t for t in (_prune(sub, remap) for sub in tree) if t is not None]
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else tuple(kept)


def select_classes(data: ImageDataset, ids: tuple[int, ...]) -> ImageDataset:
    """Only the examples of class ids `ids`, relabelled 0..k-1 in that order; channel statistics
    recomputed on the kept training images; the hierarchy pruned to them. The name records the
    subset; its content fingerprint differs too."""
    ids = tuple(int(i) for i in ids)
    if len(ids) < 2 or len(set(ids)) != len(ids) or not all(0 <= i < data.num_classes for i in ids):
        raise DatasetError(f"{data.name}: classes {list(ids)} are invalid; expected at least 2 distinct ids "
                           f"in 0..{data.num_classes - 1}")
    remap = {old: new for new, old in enumerate(ids)}
    table = torch.full((data.num_classes,), -1, dtype=torch.int64)
    table[list(ids)] = torch.arange(len(ids))
    parts = {}
    for split, x, y in data.splits():
        keep = table[y.cpu()] >= 0
        parts[f"{split}_x"], parts[f"{split}_y"] = x[keep.to(x.device)], table[y.cpu()[keep]].to(y.device)
    mean, std = channel_stats(parts["train_x"].cpu())
    tree = _prune(data.hierarchy, remap) if data.hierarchy is not None else None
    hierarchy = tree if tree is None or isinstance(tree, tuple) else None
    return ImageDataset(f"{data.name}[{','.join(map(str, ids))}]", classes=tuple(data.classes[i] for i in ids),
                        mean=mean, std=std, hierarchy=hierarchy, **parts)


def carve_validation(data: ImageDataset, fraction: float, seed: int = VAL_SEED) -> ImageDataset:
    """`data` with `fraction` of each class's training examples moved to the validation split:
    stratified, seeded (the same split on every machine), at least one example per class when
    `fraction` > 0 and at least one left to train on. Channel statistics are recomputed on the
    examples left to train on. `fraction` 0 leaves the dataset as it is (no validation split)."""
    if not 0.0 <= fraction < 1.0:
        raise DatasetError(f"validation fraction {fraction!r} is invalid; expected a fraction in [0, 1), e.g. 0.1")
    if fraction == 0.0:
        return data
    if len(data.val_y):
        raise DatasetError(f"{data.name}: already has a validation split of {len(data.val_y)} examples; "
                           "expected one carved once")
    counts = data.examples_per_class()
    if int(counts.min()) < 2:
        raise DatasetError(f"{data.name}: class {int(counts.argmin())} has {int(counts.min())} training example(s); "
                           "expected >= 2 to carve a validation split (or a validation fraction of 0)")
    keep, val = stratified_split(data.train_y.cpu().numpy(), fraction, seed, min_per_class=1)
    keep, val = torch.from_numpy(keep).to(data.device), torch.from_numpy(val).to(data.device)
    mean, std = channel_stats(data.train_x[keep].cpu())
    return replace(data, train_x=data.train_x[keep], train_y=data.train_y[keep], val_x=data.train_x[val],
                   val_y=data.train_y[val], mean=mean, std=std, content_hash=None)


NOISE_SEED = 1  # numpy PCG64: which labels are corrupted, and to what, is the same on every machine


def add_label_noise(data: ImageDataset, fraction: float, seed: int = NOISE_SEED) -> ImageDataset:
    """`data` with round(`fraction` x n) of its n training labels replaced by another class, drawn
    uniformly from the other k - 1 (symmetric noise, so exactly that fraction is wrong); which
    examples, and their new labels, come from a seeded generator. Validation and test labels are
    untouched: a noisy-label study still selects and reports on clean labels. The images, the
    channel statistics and the order are unchanged; the content fingerprint changes with the labels."""
    if not 0.0 <= fraction < 1.0:
        raise DatasetError(f"label noise {fraction!r} is invalid; expected a fraction in [0, 1), e.g. 0.2")
    if fraction == 0.0:
        return data
    if data.num_classes < 2:
        raise DatasetError(f"{data.name}: label noise needs >= 2 classes; got {data.num_classes}")
    rng = np.random.default_rng(seed)
    labels = data.train_y.cpu().numpy().copy()
    flip = rng.choice(len(labels), size=int(round(fraction * len(labels))), replace=False)
    labels[flip] = (labels[flip] + rng.integers(1, data.num_classes, len(flip))) % data.num_classes
    return replace(data, train_y=torch.from_numpy(labels).to(data.train_y.device), content_hash=None)


def parse_classes(text: str) -> tuple[int, ...]:
    """'0-4' or '0,2,5-7' -> class ids (ranges inclusive). Raises DatasetError naming the text."""
    ids: list[int] = []
    try:
        for part in text.split(","):
            lo, sep, hi = part.strip().partition("-")
            ids += list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
    except ValueError:
        raise DatasetError(f"classes {text!r} are invalid; expected ids and ranges such as 0-4 or 0,2,5-7") from None
    return tuple(ids)
