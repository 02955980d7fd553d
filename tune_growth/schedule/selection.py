"""Which examples and which classes come first: per-class example rankings (H1) and class
orders (H2), computed once per dataset from a fixed, model-independent feature space.

Feature space: each image resized to 16x16 px (antialiased), flattened, centred, and projected on
its top 32 principal components (PCA of the training set, in float64, signs fixed). Why: it needs
no pretrained network (none can be downloaded here), it is deterministic and cheap, and on
digits and small natural images nearby points in it look alike, which is what "iconic" and
"diverse" need. A stage's per-class count k takes the first k examples of each class's ranking.

Rankings and class orders are pure functions of the data, so `cached_rankings` and
`cached_class_order` compute them once per dataset (by content fingerprint) and method, on disk
(cache.py), for every trial and study run on a node.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F

from tune_growth.cache import cached_arrays, cached_json
from tune_growth.data import Hierarchy, ImageDataset
from tune_growth.schedule.rankers import get_ranker

EMBED_SIZE = 16  # pixels: images are resized to this before PCA
EMBED_DIMS = 32  # principal components kept
# The proxy model behind "easy" and "hard": a softmax regression on the standardized PCA features,
# scored out of fold (PROXY_FOLDS folds, stratified and seeded), ridge PROXY_L2 on its weights (per
# example-mean loss), fitted to convergence by L-BFGS in float64 (at most PROXY_STEPS iterations)
PROXY_FOLDS, PROXY_L2, PROXY_STEPS = 5, 1e-3, 500
CLASS_ORDERS = ("coarse_to_fine", "fine_to_coarse", "random")


def embed(x: torch.Tensor, dims: int = EMBED_DIMS, size: int = EMBED_SIZE) -> torch.Tensor:
    """PCA features (N, dims) float64 of uint8 NCHW images, on the CPU, deterministic."""
    flat = torch.cat([F.interpolate(chunk.cpu().float() / 255.0, size=(size, size), mode="bilinear",
                                    antialias=chunk.shape[-1] > size, align_corners=False).flatten(1)
                      for chunk in x.split(4096)]).double()
    flat -= flat.mean(0)
    _, vecs = torch.linalg.eigh(flat.T @ flat)
    top = vecs[:, -dims:].flip(1)  # largest components first
    top *= torch.sign(top[top.abs().argmax(0), torch.arange(top.shape[1])])  # sign: largest entry > 0
    return flat @ top


def _fit_softmax(x: torch.Tensor, y: torch.Tensor, classes: int) -> torch.Tensor:
    """Weights (d, classes) of a softmax regression on x (its last column the bias's 1s)."""
    w = torch.zeros(x.shape[1], classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=1.0, max_iter=PROXY_STEPS, tolerance_grad=1e-9, tolerance_change=1e-12,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(x @ w, y) + PROXY_L2 * (w[:-1] ** 2).sum()  # the bias row is not shrunk
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach()


def proxy_losses(features: torch.Tensor, labels: torch.Tensor, classes: int, seed: int = 0) -> torch.Tensor:
    """Each training example's cross-entropy under a proxy model that never saw it: a softmax
    regression on the standardized features, fitted on the other PROXY_FOLDS - 1 folds. Out of
    fold, so the loss says how well the rest of the data predicts an example, not how well it was
    memorised (the model-based difficulty of Wu, Dyer & Neyshabur 2021, who score with trained
    networks' losses, and of airbench96's proxy-model selection, at the cost of a linear model)."""
    x = features.double()
    x = (x - x.mean(0)) / x.std(0).clamp_min(1e-12)
    x = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], 1)
    y = labels.long().cpu()
    rng, fold = np.random.default_rng(seed), torch.empty(len(y), dtype=torch.long)
    for c in range(classes):  # stratified: every fold holds about a fifth of each class
        members = np.flatnonzero(y.numpy() == c)
        fold[torch.from_numpy(rng.permutation(members))] = torch.arange(len(members)) % PROXY_FOLDS
    out = torch.empty(len(y), dtype=torch.float64)
    with torch.enable_grad():
        for k in range(PROXY_FOLDS):
            held = fold == k
            w = _fit_softmax(x[~held], y[~held], classes)
            out[held] = F.cross_entropy(x[held] @ w, y[held], reduction="none")
    return out


def rank_examples(data: ImageDataset, method: str, seed: int = 0,
                  features: torch.Tensor | None = None) -> list[torch.Tensor]:
    """For each class, its training indices in the order `method` (a RANKERS name, rankers.py)
    picks them: random (seeded), iconic (medoid first), anti_iconic (reverse), diverse (k-center
    greedy), easy and hard (by out-of-fold proxy-model loss, low or high first). `features` (N, d)
    are the embedding's, computed here when the method needs them."""
    ranker = get_ranker(method)
    labels = data.train_y.cpu()
    if ranker.needs_features and features is None:
        features = embed(data.train_x)
    rows = {"nothing": None, "features": features}.get(ranker.needs)
    if ranker.needs == "proxy_loss":
        rows = proxy_losses(features, labels, data.num_classes)
    ranked = []
    for c in range(data.num_classes):
        idx = torch.nonzero(labels == c).squeeze(1)
        ranked.append(ranker.rank(idx, None if rows is None else rows[idx], seed, c))
    return ranked


def _selection_key(data: ImageDataset, what: str, method: str) -> dict:
    # what the result depends on: the data's content (labels included), the method, the feature
    # space and, for the proxy-model rankers, the proxy's settings
    key = {"data": data.fingerprint, what: method, "embed_size": EMBED_SIZE, "embed_dims": EMBED_DIMS}
    if what == "ranking" and get_ranker(method).needs == "proxy_loss":
        key["proxy"] = {"folds": PROXY_FOLDS, "l2": PROXY_L2, "steps": PROXY_STEPS, "model": "softmax"}
    return key


def cached_rankings(data: ImageDataset, method: str, seed: int, cache_dir: str | os.PathLike | None) -> list[torch.Tensor]:
    """`rank_examples(data, method, seed)`, read from `cache_dir`/selection when a trial on this
    node already computed it (random rankings are cheap and never cached; None: no cache)."""
    if not get_ranker(method).needs_features or cache_dir is None:
        return rank_examples(data, method, seed)

    def compute() -> dict[str, np.ndarray]:
        ranked = rank_examples(data, method, seed)
        return {"order": torch.cat(ranked).numpy(), "counts": np.array([len(r) for r in ranked])}

    arrays = cached_arrays(os.path.join(cache_dir, "selection"), "rank", _selection_key(data, "ranking", method), compute)
    return [torch.from_numpy(part.astype(np.int64)) for part in np.split(arrays["order"], np.cumsum(arrays["counts"])[:-1])]


def cached_class_order(data: ImageDataset, method: str, seed: int, cache_dir: str | os.PathLike | None) -> list[int]:
    """`class_order(data, method, seed)`, with the coarse-to-fine order (the costly part, which
    fine_to_coarse reverses) read from `cache_dir`/selection when already computed."""
    if method == "random" or cache_dir is None or method not in CLASS_ORDERS:
        return class_order(data, method, seed)
    order = cached_json(os.path.join(cache_dir, "selection"), "classes", _selection_key(data, "order", "coarse_to_fine"),
                        lambda: class_order(data, "coarse_to_fine"))
    return order[::-1] if method == "fine_to_coarse" else order


def tree_distances(tree: Hierarchy, n_classes: int) -> np.ndarray:
    """How early two classes part in the hierarchy: tree height minus the depth of their lowest
    common ancestor (an ultrametric). Classes split at the root are farthest apart whatever their
    leaf depths; siblings at the deepest level are 1 apart. (Path length would not do: in CIFAR-10
    deer-dog and airplane-automobile would tie, though only the latter split at the root.)"""
    paths: dict[int, tuple[int, ...]] = {}

    def walk(node, path):
        if isinstance(node, (int, np.integer)):
            paths[int(node)] = path
        else:
            for i, child in enumerate(node):
                walk(child, path + (i,))

    walk(tree, ())
    height = max(len(p) for p in paths.values())
    dist = np.zeros((n_classes, n_classes))
    for a in range(n_classes):
        for b in range(n_classes):
            if a != b:
                common = 0
                while paths[a][common] == paths[b][common]:
                    common += 1
                dist[a, b] = height - common
    return dist


def class_distances(data: ImageDataset, features: torch.Tensor | None = None) -> np.ndarray:
    """Distances between classes: the hierarchy's path lengths when the dataset has one, with
    prototype distances (class means in the feature space) breaking ties; else prototypes alone."""
    if features is None:
        features = embed(data.train_x)
    labels = data.train_y.cpu()
    protos = torch.stack([features[labels == c].mean(0) for c in range(data.num_classes)])
    proto = torch.cdist(protos, protos).numpy()
    if data.hierarchy is None:
        return proto
    return tree_distances(data.hierarchy, data.num_classes) + 0.5 * proto / max(proto.max(), 1e-12)


def farthest_first(dist: np.ndarray) -> list[int]:
    """Coarse-to-fine order: the two most distant classes, then each time the class farthest from
    all chosen so far (max of min distance; ties to the lower id)."""
    n = len(dist)
    first, second = np.unravel_index(int(np.argmax(dist)), dist.shape)
    order = [int(min(first, second)), int(max(first, second))]
    while len(order) < n:
        rest = [c for c in range(n) if c not in order]
        gaps = [dist[c, order].min() for c in rest]
        order.append(rest[int(np.argmax(gaps))])
    return order


def class_order(data: ImageDataset, method: str, seed: int = 0,
                features: torch.Tensor | None = None) -> list[int]:
    """All class ids in the order H2 adds them: coarse_to_fine, fine_to_coarse (its reverse: the
    most similar classes first), or random (seeded)."""
    if method == "random":
        return [int(c) for c in np.random.default_rng(seed).permutation(data.num_classes)]
    if method not in CLASS_ORDERS:
        raise ValueError(f"class order {method!r} is unknown; expected one of {', '.join(CLASS_ORDERS)}")
    order = farthest_first(class_distances(data, features))
    return order[::-1] if method == "fine_to_coarse" else order


def stage_indices(classes: tuple[int, ...], per_class: int | None, rankings: list[torch.Tensor]) -> torch.Tensor:
    """Training indices of a stage: the first `per_class` (all when None) of each class's ranking.
    A later stage with a larger count therefore contains the earlier stage's examples."""
    return torch.cat([rankings[c][:per_class] for c in classes])
