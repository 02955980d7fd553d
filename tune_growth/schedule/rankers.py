"""The example rankers (H1's selection methods): one entry per method in RANKERS, each a function
that orders one class's training indices, most wanted first. Adding a method is a dict entry and a
function. The schedule (core.py) takes its valid `selection` names from RANKERS; selection.py
applies a ranker to every class and caches the result. Imports torch and numpy only, so core.py
can import it without importing selection.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch


def medoid_ranking(features: torch.Tensor) -> torch.Tensor:
    """Positions ordered by mean distance to the other points, most central (the medoid) first."""
    score = torch.cdist(features, features).mean(1)
    return torch.argsort(score, stable=True)


def k_center_ranking(features: torch.Tensor) -> torch.Tensor:
    """Greedy k-center order: the medoid, then repeatedly the point farthest from those chosen."""
    n = len(features)
    order = [int(medoid_ranking(features)[0])]
    nearest = torch.cdist(features, features[order[0]:order[0] + 1]).squeeze(1)
    for _ in range(n - 1):
        nearest[order[-1]] = -1.0  # chosen points never win again
        nxt = int(torch.argmax(nearest))
        order.append(nxt)
        nearest = torch.minimum(nearest, torch.cdist(features, features[nxt:nxt + 1]).squeeze(1))
    return torch.tensor(order)


def rank_random(idx: torch.Tensor, features: torch.Tensor | None, seed: int, label: int) -> torch.Tensor:
    """A seeded permutation, one stream per (seed, class id), so classes do not share an order."""
    perm = np.random.default_rng([seed, label]).permutation(len(idx))
    return idx[torch.from_numpy(perm)]


def rank_iconic(idx: torch.Tensor, features: torch.Tensor | None, seed: int, label: int) -> torch.Tensor:
    """The medoid first, then ever less central examples (the class's most typical look first)."""
    return idx[medoid_ranking(features)]


def rank_anti_iconic(idx: torch.Tensor, features: torch.Tensor | None, seed: int, label: int) -> torch.Tensor:
    """The iconic order reversed: the outliers first, the medoid last."""
    return idx[medoid_ranking(features).flip(0)]


def rank_diverse(idx: torch.Tensor, features: torch.Tensor | None, seed: int, label: int) -> torch.Tensor:
    """Greedy k-center: the medoid, then each time the example farthest from those chosen."""
    return idx[k_center_ranking(features)]


def rank_easy(idx: torch.Tensor, losses: torch.Tensor | None, seed: int, label: int) -> torch.Tensor:
    """Lowest proxy-model loss first (selection.proxy_losses): the examples the rest of the data
    predicts best, the classic curriculum's easy-first."""
    return idx[torch.argsort(losses, stable=True)]


def rank_hard(idx: torch.Tensor, losses: torch.Tensor | None, seed: int, label: int) -> torch.Tensor:
    """Highest proxy-model loss first: hard examples first, as airbench96's selection and the
    anti-curricula of Wu, Dyer & Neyshabur (2021)."""
    return idx[torch.argsort(-losses, stable=True)]


NEEDS = ("nothing", "features", "proxy_loss")  # what a ranker reads of each example


@dataclass(frozen=True)
class Ranker:
    """One selection method. rank(idx, rows, seed, label): the class's training indices `idx` in
    the order the method picks them, given what it `needs` of each (None for nothing; its PCA
    feature rows; or its out-of-fold proxy-model loss, selection.proxy_losses), the selection seed
    and the class id. Anything but nothing costs a pass over the training set, so those rankings
    are cached on disk."""

    rank: Callable[[torch.Tensor, torch.Tensor | None, int, int], torch.Tensor]
    needs: str

    @property
    def needs_features(self) -> bool:
        """Whether it reads the PCA feature space (directly, or through the proxy model)."""
        return self.needs != "nothing"


# The order is the one error messages list the valid names in.
RANKERS: dict[str, Ranker] = {
    "random": Ranker(rank_random, needs="nothing"),
    "iconic": Ranker(rank_iconic, needs="features"),
    "diverse": Ranker(rank_diverse, needs="features"),
    "anti_iconic": Ranker(rank_anti_iconic, needs="features"),
    "easy": Ranker(rank_easy, needs="proxy_loss"),
    "hard": Ranker(rank_hard, needs="proxy_loss"),
}


def get_ranker(method: str) -> Ranker:
    """The ranker registered as `method`; an unknown name raises a one-line ValueError naming it
    and the registered names."""
    if method not in RANKERS:
        raise ValueError(f"example selection {method!r} is unknown; expected one of {', '.join(RANKERS)}")
    return RANKERS[method]
