"""Datasets read from plain files: an ImageFolder tree (yours, or Imagenette) and a pair of .npz files."""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from tune_growth.data.base import DatasetError, DataSpec, Hierarchy, ImageDataset, from_arrays
from tune_growth.io import atomic_write

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}
# Readable names for Imagenette's WordNet folder names; unknown folders keep their own name.
IMAGENETTE_NAMES = {
    "n01440764": "tench", "n02102040": "English springer", "n02979186": "cassette player",
    "n03000684": "chain saw", "n03028079": "church", "n03394916": "French horn",
    "n03417042": "garbage truck", "n03425413": "gas pump", "n03445777": "golf ball",
    "n03888605": "parachute",
}
IMAGENETTE_DEFAULT_SIZE = 64  # pixels; Imagenette ships 160/320/full, 64 keeps a CPU search affordable
FOLDER_DEFAULT_SIZE = 64  # pixels, for a user's own images: the same trade-off
CACHE_VERSION = 1
HIERARCHY_FILE = "hierarchy.json"  # beside an image tree or the .npz files: the class tree H2 follows


def _list_split(root: Path, split: str, dataset: str) -> tuple[list[str], list[Path], list[int]]:
    folder = root / split
    if not folder.is_dir():
        raise DatasetError(f"{dataset}: {str(folder)!r} is not a folder; expected {split}/ with one "
                           "sub-folder per class")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not classes:
        raise DatasetError(f"{dataset}: {str(folder)!r} has no class sub-folders")
    files, labels = [], []
    for label, name in enumerate(classes):
        found = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise DatasetError(f"{dataset}: {str(folder / name)!r} holds no images; expected files ending in "
                               f"{', '.join(sorted(IMAGE_SUFFIXES))}")
        files += found
        labels += [label] * len(found)
    return classes, files, labels


def _decode(files: list[Path], size: int, desc: str, dataset: str) -> np.ndarray:
    """Decode images to RGB, resize the shorter side to `size` px (antialiased) and centre-crop."""
    from PIL import Image
    from torchvision.transforms.v2 import functional as TF

    out = np.empty((len(files), 3, size, size), dtype=np.uint8)
    for i, path in enumerate(tqdm(files, desc=desc, unit="img", mininterval=2.0)):
        try:
            with Image.open(path) as pil:
                img = torch.from_numpy(np.array(pil.convert("RGB"))).permute(2, 0, 1)
        except OSError as err:  # PIL's UnidentifiedImageError is an OSError
            raise DatasetError(f"{dataset}: cannot decode {str(path)!r} ({str(err).splitlines()[0]}); "
                               "expected an image Pillow reads") from None
        img = TF.resize(img, size, antialias=True)
        out[i] = TF.center_crop(img, [size, size]).numpy()
    return out


def _image_tree(spec: DataSpec, dataset: str, held_out: tuple[str, ...], default_size: int,
                names: dict[str, str]) -> ImageDataset:
    """An ImageFolder tree ROOT/train/<class>/<images> and ROOT/H/<class>/<images> for the first
    folder H of `held_out` present (the test split), decoded once at `image_size` px (shorter
    side resized, centre crop) and cached as ROOT/.tune_growth_cache/<dataset>_<size>px.pt; the
    cache is keyed by content (a BLAKE2b hash of every file's relative path and bytes: reading and
    hashing them costs about a second per GB, against minutes of decoding), so a re-made image of
    the same size rebuilds it. A hierarchy.json in ROOT (read_hierarchy; its `wnids` may be left
    out, the class folders' names are the node ids) gives H2 its class tree."""
    expected = f"a folder with train/ and {' or '.join(f'{h}/' for h in held_out)}, one sub-folder per class"
    if spec.root is None:
        raise DatasetError(f"dataset {dataset!r} needs --data-root; expected {expected}")
    root, size = Path(spec.root).expanduser(), spec.image_size or default_size
    if not root.is_dir():
        raise DatasetError(f"{dataset}: data root {str(root)!r} is not a folder; expected {expected}")
    if size < 8:
        raise DatasetError(f"{dataset}: image_size {size} px is too small; expected >= 8")
    split = next((h for h in held_out if (root / h).is_dir()), held_out[0])
    classes, train_files, train_y = _list_split(root, "train", dataset)
    test_classes, test_files, test_y = _list_split(root, split, dataset)
    if test_classes != classes:
        raise DatasetError(f"{dataset}: {split}/ classes {test_classes[:5]} differ from train/ classes {classes[:5]}; "
                           "expected the same class folders")
    digest = hashlib.blake2b(digest_size=16)
    for path in train_files + test_files:
        digest.update(f"{path.relative_to(root)}:{path.stat().st_size}\n".encode())
        digest.update(path.read_bytes())
    cache = root / ".tune_growth_cache" / f"{dataset}_{size}px.pt"
    try:  # weights_only: the cache holds tensors and strings; anything else is refused, never run
        blob = torch.load(cache, weights_only=True) if cache.is_file() else None
    except (RuntimeError, EOFError, pickle.UnpicklingError, OSError):
        blob = None  # truncated or foreign: decode again
    if blob is None or blob.get("fingerprint") != f"{CACHE_VERSION}:{digest.hexdigest()}":
        blob = {"fingerprint": f"{CACHE_VERSION}:{digest.hexdigest()}",
                "train_x": torch.from_numpy(_decode(train_files, size, "decode train", dataset)),
                "test_x": torch.from_numpy(_decode(test_files, size, f"decode {split}", dataset))}
        atomic_write(cache, lambda tmp: torch.save(blob, tmp))  # a killed decode leaves no half cache
    tree = root / HIERARCHY_FILE
    hierarchy, tree_names = read_hierarchy(tree, len(classes), tuple(classes), dataset) if tree.is_file() \
        else (None, None)
    class_names = tree_names or tuple(names.get(c, c) for c in classes)
    return from_arrays(dataset, blob["train_x"].numpy(), np.asarray(train_y), blob["test_x"].numpy(),
                       np.asarray(test_y), class_names, hierarchy=hierarchy, source=root)


def load_folder(spec: DataSpec) -> ImageDataset:
    """Your own images: ROOT/train/<class>/ and ROOT/test/<class>/ (or val/), any format Pillow
    reads, decoded at --image-size px (default FOLDER_DEFAULT_SIZE); class names are the folders'."""
    return _image_tree(spec, "folder", ("test", "val"), FOLDER_DEFAULT_SIZE, {})


def load_imagenette(spec: DataSpec) -> ImageDataset:
    """Imagenette as fast.ai ships it: the image tree with train/ and val/ (the test split), at
    64 px unless --image-size says otherwise, its WordNet folders given readable names."""
    return _image_tree(spec, "imagenette", ("val",), IMAGENETTE_DEFAULT_SIZE, IMAGENETTE_NAMES)


def _find_npz(root: Path, role: str) -> Path:
    matches = sorted(p for p in root.glob("*.npz") if role in p.name.lower())
    if len(matches) != 1:
        found = [p.name for p in matches] or "none"
        raise DatasetError(f"npz: expected exactly one *{role}*.npz in {str(root)!r}; found {found}")
    return matches[0]


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray, tuple[str, ...] | None]:
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = {"x", "y"} - set(data.files)
            if missing:
                raise DatasetError(f"npz: {str(path)!r} lacks arrays {sorted(missing)}; "
                                   f"expected 'x' and 'y' (found {data.files})")
            names = tuple(str(s) for s in data["classes"]) if "classes" in data.files else None
            return data["x"], data["y"], names
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DatasetError(f"npz: cannot read {str(path)!r} ({str(err).splitlines()[0]}); "
                           "expected a .npz with uint8 'x' and integer 'y'") from None



def _subtree(node: str, children: dict[str, list[str]], label_of: dict[str, int]) -> Hierarchy | int | None:
    """The nested-tuple hierarchy below `node`: labelled nodes become their class ids, subtrees
    without a labelled node vanish, and a node left with one child is replaced by it."""
    parts = [] if node not in label_of else [label_of[node]]
    parts += [t for t in (_subtree(c, children, label_of) for c in sorted(children.get(node, ()))) if t is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else tuple(parts)


def read_hierarchy(path: Path, n_classes: int, wnids: tuple[str, ...] | None = None,
                   dataset: str = "npz") -> tuple[Hierarchy, tuple[str, ...] | None]:
    """A class tree from a JSON file: `wnids` (one node id per class, in label order; or given, as
    an image tree's class folders), `parent` (child id -> parent id, one root) and optionally
    `classes` (a name per label), as the Tiny-ImageNet subset's hierarchy.json; returns the
    nested-tuple hierarchy and the names."""
    try:
        tree = json.loads(path.read_text())
        parent = dict(tree["parent"])
        wnids = tuple(tree["wnids"]) if wnids is None else wnids
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DatasetError(f"{dataset}: cannot read the class tree {str(path)!r} ({type(err).__name__}: {err}); "
                           "expected JSON with 'wnids' (a node id per class) and 'parent' (child id -> parent id)") from None
    if len(wnids) != n_classes:
        raise DatasetError(f"{dataset}: {str(path)!r} names {len(wnids)} classes in 'wnids'; expected {n_classes}, "
                           "one per label")
    children: dict[str, list[str]] = {}
    for child, up in parent.items():
        children.setdefault(up, []).append(child)
    roots = sorted(set(parent.values()) - set(parent)) or sorted(set(wnids) - set(parent))
    missing = [w for w in wnids if w not in parent and w not in roots]
    if len(roots) != 1 or missing:
        raise DatasetError(f"{dataset}: the class tree {str(path)!r} has roots {roots[:5]} and unlinked classes "
                           f"{missing[:5]}; expected one root above every class")
    hierarchy = _subtree(roots[0], children, {w: i for i, w in enumerate(wnids)})
    names = tuple(str(n) for n in tree["classes"]) if len(tree.get("classes", ())) == n_classes else None
    return (hierarchy if isinstance(hierarchy, tuple) else (hierarchy,)), names


def load_npz(spec: DataSpec) -> ImageDataset:
    """Two .npz files in ROOT, one with 'train' and one with 'test' in its name, each holding
    `x` (uint8, N,H,W or N,H,W,C) and `y` (integer labels), optionally `classes` (names); and,
    when ROOT holds a hierarchy.json (read_hierarchy), the class tree H2's coarse-to-fine order
    follows."""
    if spec.root is None:
        raise DatasetError("dataset 'npz' needs --data-root (a folder with *train*.npz and *test*.npz)")
    root = Path(spec.root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"npz: data root {str(root)!r} is not a folder; expected a folder holding "
                           "*train*.npz and *test*.npz")
    train_path, test_path = _find_npz(root, "train"), _find_npz(root, "test")
    train_x, train_y, names = _read_npz(train_path)
    test_x, test_y, _ = _read_npz(test_path)
    n_classes = int(max(train_y.max(initial=0), test_y.max(initial=0))) + 1
    hierarchy, tree_names = read_hierarchy(root / HIERARCHY_FILE, n_classes) if (root / HIERARCHY_FILE).is_file() \
        else (None, None)
    names = names or tree_names or tuple(str(c) for c in range(n_classes))
    return from_arrays("npz", train_x, train_y, test_x, test_y, names, hierarchy=hierarchy, source=root)
