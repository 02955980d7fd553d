"""MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100 through torchvision's own readers, from a local root.

Nothing is downloaded unless `DataSpec.download` is set. torchvision's CIFAR readers insist on the
official md5 checksums; the subclasses below check only that the files exist, so re-packed or
test-generated files in the original pickle format load, and our own validation (shapes, label
range) stands in for the checksum.
"""

from __future__ import annotations

import os
import pickle
from functools import cache
from pathlib import Path

import numpy as np

from tune_growth.data.base import DatasetError, DataSpec, ImageDataset, from_arrays

# CIFAR-10's WordNet tree (ids in ../shared/data/cifar10/README.md): craft {airplane, ship},
# motor vehicle {automobile, truck}, vertebrate {bird, frog, carnivore {cat, dog},
# ungulate {deer, horse}}. Leaves are class ids in CIFAR-10 order.
CIFAR10_HIERARCHY = ((0, 8), (1, 9), (2, 6, (3, 5), (4, 7)))


@cache
def _readers() -> dict:
    """torchvision's readers, imported on first use: importing torchvision costs ~0.8 s, which
    every Ray worker would otherwise pay before its first trial."""
    from torchvision import datasets as tvd

    class CIFAR10(tvd.CIFAR10):
        def _check_integrity(self) -> bool:
            return all(os.path.isfile(os.path.join(self.root, self.base_folder, name))
                       for name, _ in self.train_list + self.test_list)

        def _load_meta(self) -> None:
            with open(os.path.join(self.root, self.base_folder, self.meta["filename"]), "rb") as f:
                self.classes = pickle.load(f, encoding="latin1")[self.meta["key"]]

    class CIFAR100(CIFAR10, tvd.CIFAR100):
        pass

    return {"MNIST": tvd.MNIST, "FashionMNIST": tvd.FashionMNIST, "CIFAR10": CIFAR10, "CIFAR100": CIFAR100}


def _root(spec: DataSpec) -> Path:
    if spec.root is None:
        raise DatasetError(f"dataset {spec.name!r} needs --data-root (a local folder); none was given")
    root = Path(spec.root).expanduser()
    if not root.is_dir() and not spec.download:
        raise DatasetError(f"dataset {spec.name!r}: data root {str(root)!r} is not a folder; "
                           "expected an existing folder (or pass --download on a machine with internet)")
    return root


def _read(cls, spec: DataSpec, expected: str, **kwargs):
    """Run a torchvision reader for both splits, turning any failure into a one-line DatasetError."""
    root = _root(spec)
    try:
        return (cls(str(root), train=True, download=spec.download, **kwargs),
                cls(str(root), train=False, download=False, **kwargs))
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError, ValueError, KeyError,
            AssertionError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DatasetError(f"dataset {spec.name!r}: could not read {expected} under {str(root)!r} "
                           f"({detail})") from None


def _mnist_like(name: str, spec: DataSpec) -> ImageDataset:
    train, test = _read(_readers()[name], spec, f"{name}/raw/*-idx?-ubyte files")
    return from_arrays(spec.name, train.data.numpy(), train.targets.numpy(), test.data.numpy(),
                       test.targets.numpy(), tuple(train.classes), source=spec.root)


def load_mnist(spec: DataSpec) -> ImageDataset:
    """MNIST from ROOT/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte."""
    return _mnist_like("MNIST", spec)


def load_fashion_mnist(spec: DataSpec) -> ImageDataset:
    """Fashion-MNIST from ROOT/FashionMNIST/raw/ in the MNIST idx format."""
    return _mnist_like("FashionMNIST", spec)


def load_cifar10(spec: DataSpec) -> ImageDataset:
    """CIFAR-10 from ROOT/cifar-10-batches-py/ (the python pickles), with its WordNet hierarchy."""
    train, test = _read(_readers()["CIFAR10"], spec, "cifar-10-batches-py/ pickles")
    return from_arrays(spec.name, train.data, np.asarray(train.targets), test.data,
                       np.asarray(test.targets), tuple(train.classes), CIFAR10_HIERARCHY, spec.root)


def load_cifar100(spec: DataSpec) -> ImageDataset:
    """CIFAR-100 from ROOT/cifar-100-python/; the hierarchy is its 20 superclasses, read from the
    files' `coarse_labels` (torchvision keeps only the fine labels)."""
    train, test = _read(_readers()["CIFAR100"], spec, "cifar-100-python/ pickles")
    path = Path(train.root) / train.base_folder / train.train_list[0][0]
    with open(path, "rb") as f:
        coarse = np.asarray(pickle.load(f, encoding="latin1")["coarse_labels"])
    fine = np.asarray(train.targets)
    superclasses = [sorted(set(fine[coarse == c].tolist())) for c in np.unique(coarse)]
    hierarchy = tuple(tuple(group) for group in superclasses)
    return from_arrays(spec.name, train.data, fine, test.data, np.asarray(test.targets),
                       tuple(train.classes), hierarchy, spec.root)
