"""Write small datasets in each loader's original on-disk format, for the registry tests."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
from PIL import Image

N_TRAIN, N_TEST = 40, 20  # examples per split in the generated files


def _images(n: int, shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


def _labels(n: int, n_classes: int) -> np.ndarray:
    return np.arange(n) % n_classes  # every class present, in both splits


def write_idx(path: Path, array: np.ndarray) -> None:
    """The MNIST idx format: magic (0, 0, type 0x08 = ubyte, ndim), big-endian dims, raw bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist(root: Path, folder: str = "MNIST") -> Path:
    raw = root / folder / "raw"
    for prefix, n, seed in (("train", N_TRAIN, 1), ("t10k", N_TEST, 2)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", _images(n, (28, 28), seed))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", _labels(n, 10))
    return root


def _pickle(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def write_cifar10(root: Path) -> Path:
    """cifar-10-batches-py/: data_batch_1..5 and test_batch ({'data': N x 3072 uint8 rows, R then G
    then B planes, 'labels': list}) and batches.meta ({'label_names': [...]})."""
    folder = root / "cifar-10-batches-py"
    for i in range(1, 6):
        n = N_TRAIN // 5
        _pickle(folder / f"data_batch_{i}", {"data": _images(n, (3072,), i),
                                              "labels": ((np.arange(n) + i * n) % 10).tolist()})
    _pickle(folder / "test_batch", {"data": _images(N_TEST, (3072,), 9), "labels": _labels(N_TEST, 10).tolist()})
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    _pickle(folder / "batches.meta", {"label_names": names})
    return root


def write_cifar100(root: Path) -> Path:
    """cifar-100-python/: train and test ({'data', 'fine_labels', 'coarse_labels'}) and meta.
    Fine class f belongs to superclass f // 5, as 100 classes fall in 20 superclasses of 5."""
    folder = root / "cifar-100-python"
    for name, n, seed in (("train", 200, 1), ("test", 100, 2)):
        fine = _labels(n, 100)
        _pickle(folder / name, {"data": _images(n, (3072,), seed), "fine_labels": fine.tolist(),
                                "coarse_labels": (fine // 5).tolist()})
    _pickle(folder / "meta", {"fine_label_names": [f"fine{i}" for i in range(100)],
                              "coarse_label_names": [f"coarse{i}" for i in range(20)]})
    return root


def write_image_folder(root: Path, classes: tuple[str, ...] = ("n01440764", "n02102040", "n03888605"),
                       per_class: int = 4, size: tuple[int, int] = (40, 30)) -> Path:
    """root/{train,val}/<class>/<i>.png, RGB PNGs of `size` (w, h) px."""
    for split, seed in (("train", 1), ("val", 2)):
        for c, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i, img in enumerate(_images(per_class, (size[1], size[0], 3), seed * 100 + c)):
                Image.fromarray(img).save(folder / f"{i}.png")
    return root


def write_user_folder(root: Path, classes: tuple[str, ...] = ("cat", "dog", "car", "truck"), per_class: int = 4,
                      held_out: str = "test") -> Path:
    """A user's image tree: root/{train,HELD_OUT}/<class>/<i>.EXT, JPEG, PNG and 1-channel BMP mixed
    and of different sizes, so decoding, resizing and the centre crop all take part."""
    formats = (("jpg", "RGB", (48, 36)), ("png", "RGBA", (30, 40)), ("bmp", "L", (33, 33)))
    for split, seed in (("train", 1), (held_out, 2)):
        for c, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                ext, mode, (w, h) = formats[i % len(formats)]
                img = _images(1, (h, w, 4), seed * 100 + c * 10 + i)[0]
                Image.fromarray(img, "RGBA").convert(mode).save(folder / f"{i}.{ext}")
    return root


def write_npz(root: Path, shape: tuple[int, ...] = (32, 32, 3), n_classes: int = 10, seed: int = 1) -> Path:
    """train.npz and test.npz with x (N, *shape) uint8 and y int labels, as in shared/data/cifar10;
    another `seed` writes other images of the same sizes."""
    root.mkdir(parents=True, exist_ok=True)
    np.savez(root / "train.npz", x=_images(N_TRAIN, shape, seed), y=_labels(N_TRAIN, n_classes).astype(np.uint8))
    np.savez(root / "test.npz", x=_images(N_TEST, shape, seed + 100), y=_labels(N_TEST, n_classes).astype(np.uint8))
    return root


# dataset name -> writer of its files under a root (None: the dataset ships in a package)
WRITERS = {
    "mnist5k": None,
    "digits": None,
    "mnist": write_mnist,
    "fashion_mnist": lambda root: write_mnist(root, "FashionMNIST"),
    "cifar10": write_cifar10,
    "cifar100": write_cifar100,
    "imagenette": write_image_folder,
    "npz": write_npz,
    "folder": write_user_folder,
}
