"""Example rankings and class orders on hand-made sets whose answers are known."""

import numpy as np
import pytest
import torch

from tune_growth.data import CIFAR10_HIERARCHY, from_arrays
from tune_growth.schedule.rankers import RANKERS, get_ranker, k_center_ranking, medoid_ranking
from tune_growth.schedule.selection import cached_rankings, class_order, embed, rank_examples, tree_distances

# One class as points in a 2-D feature space: a tight cross around the origin and one outlier.
CROSS = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [6.0, 6.0]], dtype=torch.float64)


def test_iconic_is_the_medoid():
    order = medoid_ranking(CROSS)
    assert int(order[0]) == 1  # the origin: smallest total distance to the others
    assert int(order[-1]) == 5  # the outlier comes last


def test_diverse_is_k_center_greedy_from_the_medoid():
    order = k_center_ranking(CROSS).tolist()
    assert order[:2] == [1, 5]  # medoid, then the point farthest from it
    assert sorted(order) == list(range(6))


def tiny_dataset(n_per_class=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n_per_class * classes, 8, 8), dtype=np.uint8)
    y = np.repeat(np.arange(classes), n_per_class)
    return from_arrays("tiny", x, y, x[:classes], np.arange(classes), tuple("abc"[:classes]))


def test_rankings_cover_each_class_and_follow_the_method():
    data = tiny_dataset()
    feats = torch.zeros(len(data.train_y), 2, dtype=torch.float64)
    feats[:6] = CROSS  # class 0 gets the hand-made points
    feats[6:] = torch.randn(12, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    iconic = rank_examples(data, "iconic", features=feats)
    assert int(iconic[0][0]) == 1 and int(iconic[0][-1]) == 5
    assert rank_examples(data, "anti_iconic", features=feats)[0].tolist() == iconic[0].flip(0).tolist()
    for method in ("random", "iconic", "diverse"):
        ranked = rank_examples(data, method, seed=3, features=feats)
        for c, idx in enumerate(ranked):
            assert sorted(idx.tolist()) == list(range(6 * c, 6 * c + 6))
    assert rank_examples(data, "random", seed=3)[1].tolist() == rank_examples(data, "random", seed=3)[1].tolist()
    assert rank_examples(data, "random", seed=3)[1].tolist() != rank_examples(data, "random", seed=4)[1].tolist()


def test_hard_puts_a_mislabelled_example_first_and_easy_puts_it_last():
    # two classes as clusters far apart in a 2-D feature space; example 3 sits in class 1's cluster
    # but is labelled 0: no model fitted on the rest can predict it, so its out-of-fold loss is the highest
    rng = np.random.default_rng(0)
    x = np.zeros((40, 8, 8), dtype=np.uint8)
    y = np.repeat([0, 1], 20)
    data = from_arrays("clusters", x, y, x[:2], np.arange(2), ("a", "b"))
    feats = torch.from_numpy(np.concatenate([rng.normal(0, 1, (20, 2)), rng.normal(6, 1, (20, 2))]))
    feats[3] = torch.tensor([6.0, 6.0], dtype=torch.float64)
    hard, easy = rank_examples(data, "hard", features=feats), rank_examples(data, "easy", features=feats)
    assert int(hard[0][0]) == 3 and int(easy[0][-1]) == 3
    assert hard[1].tolist() == easy[1].flip(0).tolist()  # one order, read from either end


@pytest.mark.parametrize("method", list(RANKERS))
def test_every_ranker_orders_each_class_reproducibly(method, tmp_path):
    data = tiny_dataset()
    ranked = rank_examples(data, method, seed=3)
    assert [sorted(idx.tolist()) for idx in ranked] == [list(range(6 * c, 6 * c + 6)) for c in range(3)]
    assert all(idx.dtype == torch.int64 for idx in ranked)
    again = cached_rankings(data, method, 3, tmp_path)  # through the on-disk cache where the method uses one
    assert [a.tolist() for a in again] == [r.tolist() for r in ranked]
    feats = embed(data.train_x)
    assert [r.tolist() for r in rank_examples(data, method, seed=3, features=feats)] == [r.tolist() for r in ranked]


def test_an_unknown_ranker_is_named_with_the_registered_ones():
    message = f"example selection 'best' is unknown; expected one of {', '.join(RANKERS)}"
    for call in (lambda: get_ranker("best"), lambda: rank_examples(tiny_dataset(), "best")):
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == message


def test_embedding_is_deterministic_and_sized():
    data = tiny_dataset()
    a, b = embed(data.train_x, dims=5), embed(data.train_x, dims=5)
    assert a.shape == (18, 5) and torch.equal(a, b)


def test_tree_distances_on_cifar10():
    d = tree_distances(CIFAR10_HIERARCHY, 10)  # height 3: root, vertebrate, carnivore
    assert d[3, 5] == 1  # cat, dog: part at carnivore
    assert d[0, 8] == 2 and d[2, 6] == 2 and d[2, 3] == 2  # part one level below the root
    assert d[0, 1] == 3 and d[0, 3] == 3  # part at the root, whatever the leaves' depth
    assert (d == d.T).all() and (np.diag(d) == 0).all()


def cifar10_like(seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, 256, (40, 8, 8), dtype=np.uint8), np.arange(40) % 10
    return from_arrays("c10", x, y, x[:10], np.arange(10), tuple("abcdefghij"), CIFAR10_HIERARCHY)


def test_coarse_to_fine_on_the_cifar10_hierarchy():
    top_group = {0: 0, 8: 0, 1: 1, 9: 1, 2: 2, 6: 2, 3: 2, 5: 2, 4: 2, 7: 2}
    for seed in range(4):  # whatever the pixels (they only break ties), the tree decides
        order = class_order(cifar10_like(seed), "coarse_to_fine")
        assert len({top_group[c] for c in order[:3]}) == 3  # first: craft, vehicle and vertebrate
        # last: the second of cat/dog and of deer/horse, the most similar pairs
        partner = {3: 5, 5: 3, 4: 7, 7: 4}
        last_two = order[-2:]
        assert set(last_two) & {3, 5} and set(last_two) & {4, 7}
        assert all(order.index(partner[c]) < order.index(c) for c in last_two)


def test_class_order_methods_on_a_dataset_with_hierarchy():
    data = cifar10_like()
    c2f = class_order(data, "coarse_to_fine")
    assert sorted(c2f) == list(range(10)) and class_order(data, "fine_to_coarse") == c2f[::-1]
    assert sorted(class_order(data, "random", seed=1)) == list(range(10))
