"""Datasets: the registry (a name maps to a loader taking a DataSpec and returning an
ImageDataset), the value type and its validation split and fingerprint (base.py), the loaders,
and augmentation with seeded index streams (augment.py). The first step of the flow: imports
nothing from the rest of tune_growth but the shared io.

Add a dataset by writing `load_x(spec) -> ImageDataset` and one entry in DATASETS; the
parametrized registry test then covers it.
"""

from __future__ import annotations

from typing import Callable, Union

import torch

from tune_growth.data.base import (
    NOISE_SEED,
    TENSOR_FIELDS,
    VAL_SEED,
    DatasetError,
    DataSpec,
    Hierarchy,
    ImageDataset,
    add_label_noise,
    carve_validation,
    channel_stats,
    from_arrays,
    hierarchy_leaves,
    parse_classes,
    select_classes,
    stratified_split,
)
from tune_growth.data.builtin import load_digits, load_mnist5k
from tune_growth.data.files import load_folder, load_imagenette, load_npz
from tune_growth.data.torchvision_sets import (
    CIFAR10_HIERARCHY,
    load_cifar10,
    load_cifar100,
    load_fashion_mnist,
    load_mnist,
)

DATASETS: dict[str, Callable[[DataSpec], ImageDataset]] = {
    "mnist5k": load_mnist5k,
    "digits": load_digits,
    "mnist": load_mnist,
    "fashion_mnist": load_fashion_mnist,
    "cifar10": load_cifar10,
    "cifar100": load_cifar100,
    "imagenette": load_imagenette,
    "npz": load_npz,
    "folder": load_folder,
}


def check_dataset_name(name: str) -> str:
    """Return `name` if it is registered, else raise a one-line DatasetError listing the valid ones."""
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; expected one of {', '.join(sorted(DATASETS))}")
    return name


def load_dataset(spec: Union[DataSpec, str], device: Union[str, torch.device] = "cpu") -> ImageDataset:
    """Load a registered dataset, keep `spec.classes` if given, carve the validation split
    (`spec.val_fraction` of each class's training examples) and place the tensors on `device`
    (once; stages index into it)."""
    spec = DataSpec(spec) if isinstance(spec, str) else spec
    if not 0.0 <= spec.val_fraction < 1.0:  # checked before anything is read from disk
        raise DatasetError(f"validation fraction {spec.val_fraction!r} is invalid; expected a fraction in [0, 1), "
                           "e.g. 0.1")
    if not 0.0 <= spec.label_noise < 1.0:
        raise DatasetError(f"label noise {spec.label_noise!r} is invalid; expected a fraction in [0, 1), e.g. 0.2")
    data = DATASETS[check_dataset_name(spec.name)](spec)
    if spec.classes is not None:
        data = select_classes(data, spec.classes)
    return add_label_noise(carve_validation(data, spec.val_fraction), spec.label_noise).to(device)


__all__ = ["DATASETS", "CIFAR10_HIERARCHY", "NOISE_SEED", "TENSOR_FIELDS", "VAL_SEED", "DataSpec", "DatasetError",
           "Hierarchy", "ImageDataset", "add_label_noise", "carve_validation", "channel_stats", "check_dataset_name",
           "from_arrays", "hierarchy_leaves", "load_dataset", "parse_classes", "select_classes", "stratified_split"]
