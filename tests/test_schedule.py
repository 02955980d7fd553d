"""The Schedule value: validation names the bad value, JSON round-trips exactly, describe() reads."""

import dataclasses

import pytest

from tune_growth.schedule.core import Schedule, ScheduleError, Stage
from tune_growth.schedule.lr_policy import LRPolicy
from tune_growth.schedule.rankers import RANKERS

ALL = tuple(range(10))


def three_stage(**kw):
    stages = (Stage(ALL, 1, 14, 0.05), Stage(ALL, 10, 14, 0.15), Stage(ALL, None, 28, 0.8))
    return Schedule(stages, 10, hypothesis="h1+h3", **kw)


def test_describe_reads_like_the_spec():
    assert three_stage().describe() == "3 stages: 1/cls@14px 5% → 10/cls@14px 15% → all@28px 80%"
    sub = Schedule((Stage((0, 3), None, 28, 0.25), Stage(ALL, None, 28, 0.75)), 10)
    assert sub.describe() == "2 stages: 2cls·all@28px 25% → all@28px 75%"


def test_json_round_trip_is_exact():
    s = three_stage(max_lr=0.123456789, lr_policy=LRPolicy("sgdr", cycles=4, cycle_mult=1.5), tta=True)
    again = Schedule.from_json(s.to_json())
    assert again == s and again.to_json() == s.to_json()
    assert isinstance(again.stages[0].classes, tuple) and isinstance(again.lr_policy.moms, tuple)


def test_fine_tuning_stages_round_trip_and_older_json_still_loads():
    head = Stage(ALL, None, 28, 0.1, freeze_to=-1, augment=False, lr_policy=LRPolicy("onecycle", pct_start=0.5))
    rest = Stage(ALL, None, 28, 0.9, lr_ratio=0.01, lr_policy=LRPolicy("sgdr", cycles=3), max_lr="find", lr_mult=0.5)
    s = Schedule((head, rest), 10, hypothesis="finetune")
    again = Schedule.from_json(s.to_json())
    assert again == s and again.to_json() == s.to_json()
    assert s.describe() == ("2 stages: all@28px 10% [head only, no aug, onecycle] → "
                            "all@28px 90% [lr 1/100..1, sgdr, lr find, lr x0.5]")
    plain = three_stage()  # without fine-tuning fields the JSON is what it was before they existed
    assert all(set(st) == {"classes", "per_class", "image_size", "share"} for st in plain.to_dict()["stages"])
    assert Schedule.from_json(plain.to_json()) == plain


def test_at_a_compute_budget_a_half_size_stage_trains_four_times_the_examples():
    half = Schedule((Stage(ALL, None, 14, 0.5), Stage(ALL, None, 28, 0.5)), 10, budget_epochs=1.0,
                    budget_unit="compute")
    small, full = half.stage_examples(4000, 28)
    assert (small, full) == (8000, 2000) and small == 4 * full  # equal compute: 8000 x 14^2 == 2000 x 28^2
    s = three_stage(budget_epochs=2.0, budget_unit="compute")
    counts = s.stage_examples(4000, 28)
    assert counts == [1600, 4800, 6400]  # 5% and 15% of 2 x 4000 x 28^2 at 14 px, the rest at 28 px
    assert sum(n * st.image_size ** 2 for n, st in zip(counts, s.stages)) == s.total_budget(4000, 28) == 2 * 4000 * 28 ** 2
    assert three_stage(budget_epochs=2.0).stage_examples(4000, 28) == [400, 1200, 6400]  # epochs: examples


def test_an_epoch_budget_rounds_its_total_to_whole_examples_first_as_it_always_has():
    s = Schedule((Stage(ALL, None, 28, 0.5), Stage(ALL, None, 28, 0.5)), 10, budget_epochs=0.5)
    assert s.stage_examples(21, 28) == [5, 5]  # 10.5 examples round to 10 before the shares (not [5, 6])


def test_the_budget_unit_round_trips_and_an_epoch_schedule_serialises_as_before():
    compute = three_stage(budget_unit="compute")
    assert Schedule.from_json(compute.to_json()) == compute and "budget_unit" in compute.to_dict()
    assert "budget_unit" not in three_stage().to_dict()  # caches keyed by an epoch schedule's JSON stay valid
    with pytest.raises(ScheduleError, match="budget_unit='pixels' is invalid; expected one of epochs, compute"):
        three_stage(budget_unit="pixels")


def test_stage_examples_follow_shares_and_sum_to_budget():
    s = three_stage(budget_epochs=2.0)
    counts = s.stage_examples(4000, 28)
    assert counts == [400, 1200, 6400] and sum(counts) == 8000


def _stage(**kw):
    return dataclasses.replace(Stage(ALL, None, 28, 1.0), **kw)


BAD = {
    "no stages": (lambda: Schedule((), 10), "no stages"),
    "zero size": (lambda: Schedule((_stage(image_size=0),), 10), "image_size=0"),
    "tiny size": (lambda: Schedule((_stage(image_size=7),), 10), ">= 8 px"),
    "zero per class": (lambda: Schedule((_stage(per_class=0),), 10), "per_class=0"),
    "negative per class": (lambda: Schedule((_stage(per_class=-5),), 10), "per_class=-5"),
    "unknown class id": (lambda: Schedule((_stage(classes=(0, 12)),), 10), "class id(s) [12]"),
    "duplicate class": (lambda: Schedule((_stage(classes=(1, 1)),), 10), "distinct class ids"),
    "zero share": (lambda: Schedule((_stage(share=0.0), _stage(share=1.0)), 10), "share=0.0"),
    "shares not adding up": (lambda: Schedule((_stage(share=0.5), _stage(share=0.4)), 10), "summing to 0.9"),
    "negative budget": (lambda: Schedule((_stage(),), 10, budget_epochs=-1.0), "budget_epochs=-1.0"),
    "zero batch": (lambda: Schedule((_stage(),), 10, batch_size=0), "batch_size=0"),
    "bad lr": (lambda: Schedule((_stage(),), 10, max_lr="huge"), "max_lr='huge'"),
    "bad optimizer": (lambda: Schedule((_stage(),), 10, optimizer="lion"), "optimizer='lion'"),
    "bad selection": (lambda: Schedule((_stage(),), 10, selection="best"), "selection='best'"),
    "bad policy": (lambda: LRPolicy("cosine"), "lr policy 'cosine'"),
    "fractional freeze": (lambda: Schedule((_stage(freeze_to=1.5),), 10), "freeze_to=1.5"),
    "lr ratio above 1": (lambda: Schedule((_stage(lr_ratio=3.0),), 10), "lr_ratio=3.0"),
    "augment not a bool": (lambda: Schedule((_stage(augment="yes"),), 10), "augment='yes'"),
    "stage policy not a policy": (lambda: Schedule((_stage(lr_policy="sgdr"),), 10), "lr_policy='sgdr'"),
    "stage lr": (lambda: Schedule((_stage(max_lr=-0.1),), 10), "stage 0 max_lr=-0.1"),
    "stage lr mult": (lambda: Schedule((_stage(lr_mult=0),), 10), "stage 0 lr_mult=0"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_invalid_schedules_name_the_bad_value(case):
    make, expected = BAD[case]
    with pytest.raises(ValueError) as info:
        make()
    assert expected in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("method", list(RANKERS))
def test_every_registered_ranker_is_a_valid_selection(method):
    assert Schedule((_stage(),), 10, selection=method).selection == method


def test_a_bad_selection_lists_the_registered_rankers():
    with pytest.raises(ScheduleError) as info:
        Schedule((_stage(),), 10, selection="best")
    assert str(info.value) == f"selection='best' is invalid; expected one of {', '.join(RANKERS)}"


def test_check_dataset_rejects_more_examples_than_exist():
    s = Schedule((Stage(ALL, 500, 28, 1.0),), 10)
    with pytest.raises(ScheduleError, match="per_class=500 examples but its classes have as few as 400"):
        s.check_dataset([400] * 10, 28)
    with pytest.raises(ScheduleError, match="for 10 classes but the dataset has 3"):
        s.check_dataset([400] * 3, 28)


@pytest.mark.parametrize("text, expected", [
    ("{not json", "malformed at line 1"),
    ('{"stages": [], "num_classes": 10, "colour": "red"}', "unknown field(s) ['colour']"),
    ('{"num_classes": 10}', "needs 'stages'"),
    ('{"stages": [{"classes": [0]}], "num_classes": 10}', "malformed"),
    ('{"stages": [], "num_classes": 10, "version": 9}', "version 9"),
])
def test_from_json_errors(text, expected):
    with pytest.raises(ScheduleError, match=expected.replace("(", r"\(").replace("[", r"\[").replace(")", r"\)").replace("]", r"\]")):
        Schedule.from_json(text)
