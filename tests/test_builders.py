"""Builders from flat parameters: one parametrized test over every registered hypothesis, plus
each axis's invariants (growth, containment, class order, sizes)."""

import pytest

from tune_growth.schedule.builders import (
    HYPOTHESES,
    build_schedule,
    class_counts,
    image_sizes,
    per_class_counts,
    stage_shares,
)
from tune_growth.schedule.core import Schedule
from tune_growth.schedule.selection import class_order, rank_examples, stage_indices


@pytest.mark.parametrize("name", list(HYPOTHESES))
def test_every_hypothesis_builds_a_valid_round_tripping_schedule(name, mnist):
    s = build_schedule({"hypothesis": name, "stages": 4}, mnist)
    axes, fixed = HYPOTHESES[name]
    assert s.hypothesis == name and Schedule.from_json(s.to_json()) == s
    assert len(s.stages) == (3 if "finetune" in axes else 4 if axes else 1)  # the recipe has its own stages
    assert abs(sum(st.share for st in s.stages) - 1) < 1e-9
    last = s.stages[-1]  # every schedule ends on the full problem
    assert last.classes == tuple(range(10)) and last.per_class is None and last.image_size == 28
    if "h1" in axes:
        counts = [st.per_class for st in s.stages[:-1]]
        assert counts == sorted(counts) and counts[0] == 1
        assert s.selection == fixed.get("h1_selection", "iconic")
    if "h2" in axes:
        sets = [set(st.classes) for st in s.stages]
        assert all(a < b for a, b in zip(sets, sets[1:])) and len(sets[0]) == 2
    if "h3" in axes:
        sizes = [st.image_size for st in s.stages]
        assert sizes == sorted(sizes) and sizes[0] == 16 and all(z % 4 == 0 for z in sizes)
    if "finetune" in axes:
        assert [st.freeze_to for st in s.stages] == [-1, -1, 0] and s.stages[-1].max_lr == "find"
    if not axes:
        assert s.describe() == "1 stage: all@28px 100%"
    if name == "budgeted":
        assert s.lr_policy.name == "linear"


def test_h1_later_stages_contain_earlier_examples(mnist):
    s = build_schedule({"hypothesis": "h1", "stages": 4, "h1_start": 2, "h1_growth": 5.0}, mnist)
    assert [st.per_class for st in s.stages] == [2, 10, 50, None]
    for method in ("iconic", "diverse", "random"):
        ranked = rank_examples(mnist, method, seed=1)
        idx = [set(stage_indices(st.classes, st.per_class, ranked).tolist()) for st in s.stages]
        assert all(a < b for a, b in zip(idx, idx[1:]))
        assert len(idx[0]) == 20 and len(idx[-1]) == len(mnist.train_y)


def test_h2_stage_classes_follow_the_class_order(mnist):
    s = build_schedule({"hypothesis": "h2", "stages": 3, "h2_start": 2}, mnist)
    order = class_order(mnist, "coarse_to_fine")
    assert set(s.stages[0].classes) == set(order[:2]) and set(s.stages[1].classes) == set(order[:4])
    anti = build_schedule({"hypothesis": "anti_h2", "stages": 3, "h2_start": 2}, mnist)
    assert set(anti.stages[0].classes) == set(order[::-1][:2])


def test_helpers():
    assert stage_shares(3, 0.3, 2.0) == pytest.approx([0.1, 0.2, 0.7])
    assert image_sizes(3, 32, 0.25) == [8, 16, 32]
    assert image_sizes(2, 28, 0.1) == [8, 28]  # never below 8 px
    assert class_counts(3, 100, 5) == [5, 22, 100]
    assert per_class_counts(4, 1, 10.0, 400) == [1, 10, 100, None]
    assert per_class_counts(4, 1, 30.0, 400) == [1, 30, 400, None]  # capped at the smallest class


@pytest.mark.parametrize("params, message", [
    ({"hypothesis": "h4"}, "unknown hypothesis 'h4'"),
    ({"colour": 1}, "unknown schedule parameter(s) ['colour']"),
    ({"hypothesis": "h1", "stages": 1}, "stages=1"),
    ({"hypothesis": "h2", "h2_start": 11}, "h2_start=11"),
    ({"hypothesis": "h3", "h3_start": 0.0}, "h3_start=0.0"),
    ({"hypothesis": "h1", "h1_start": 0}, "h1_start=0"),
    ({"early_share": 1.0}, "early_share=1.0"),
    ({"lr_policy": "step"}, "lr policy 'step'"),
])
def test_bad_builder_parameters(params, message, mnist):
    with pytest.raises(ValueError) as info:
        build_schedule(params, mnist)
    assert message in str(info.value)
