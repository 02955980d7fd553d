"""The staged trainer: exact resume, divergence, determinism, LR over stages, records, evaluation."""

import io
import math

import pytest
import torch

from tune_growth.data import load_dataset
from tune_growth.schedule.builders import build_schedule
from tune_growth.train import trainer as trainer_module
from tune_growth.train.config import DIVERGED_LOSS, RunConfig
from tune_growth.train.trainer import Trainer

AUGMENTED = {"crop_pad": 2, "cutout": 6, "mixup_alpha": 0.3, "label_smoothing": 0.1}


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist5k")


def schedule(data, **params):
    base = {"hypothesis": "h1+h3", "stages": 3, "budget_epochs": 2.0, "batch_size": 128, "max_lr": 0.05}
    return build_schedule({**base, **params}, data)


def strip(records):
    return [{k: v for k, v in r.items() if k not in ("wall_seconds", "eval_seconds")} for r in records]


def test_resume_continues_exactly_like_an_uninterrupted_run(mnist, tmp_path):
    s = schedule(mnist, **AUGMENTED)
    config = RunConfig(device="cpu", evals=6, cache_dir=str(tmp_path))
    full = Trainer(s, mnist, config)
    expected = strip(full.run())

    first = Trainer(s, mnist, config)
    head = []
    for record in first.run():
        head.append(record)
        if len(head) == 4:  # mid-run, inside stage 2
            break
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = Trainer(s, mnist, config)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))  # no pickle beyond tensors and plain data
    tail = list(resumed.run())
    assert strip(head + tail) == expected
    for a, b in zip(full.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)


def test_resume_at_a_stage_boundary(mnist, tmp_path):
    s = schedule(mnist)
    config = RunConfig(device="cpu", evals=2, cache_dir=str(tmp_path))
    expected = strip(Trainer(s, mnist, config).run())
    first = Trainer(s, mnist, config)
    records = first.run()
    head = [next(records)]
    assert first.stream is None and first.counters.stage_step == 0  # stage 0 just ended
    resumed = Trainer(s, mnist, config)
    resumed.load_state_dict(first.state_dict())
    assert strip(head + list(resumed.run())) == expected


def test_same_seed_same_records_other_seed_differs(mnist, tmp_path):
    s = schedule(mnist, **AUGMENTED)
    run = lambda seed: strip(Trainer(s, mnist, RunConfig(device="cpu", evals=3, seed=seed, cache_dir=str(tmp_path))).run())  # noqa: E731
    assert run(1) == run(1)
    assert run(1) != run(2)


def test_divergence_ends_the_run_with_finite_sentinels(mnist, tmp_path):
    s = schedule(mnist, max_lr=1e6, budget_epochs=4.0)
    records = list(Trainer(s, mnist, RunConfig(device="cpu", evals=4, cache_dir=str(tmp_path))).run())
    last = records[-1]
    assert last["status"] == "diverged" and last["finished"]
    assert last["test_acc"] == 0.0 and last["test_loss"] == DIVERGED_LOSS
    assert last["val_acc"] == 0.0 and last["val_loss"] == DIVERGED_LOSS
    assert all(math.isfinite(v) for v in last.values() if isinstance(v, float))
    assert last["step"] < Trainer(s, mnist, RunConfig(device="cpu", cache_dir=str(tmp_path))).total_steps


def test_records_cover_stage_ends_and_the_lr_follows_global_progress(mnist, tmp_path):
    s = schedule(mnist, early_share=0.3)
    trainer = Trainer(s, mnist, RunConfig(device="cpu", evals=5, cache_dir=str(tmp_path)))
    records = list(trainer.run())
    ends = [sum(trainer.stage_steps[: k + 1]) for k in range(3)]
    steps = [r["step"] for r in records]
    assert all(e in steps for e in ends) and steps == sorted(set(steps))
    assert [r["step"] for r in records if r["stage_end"]] == ends
    assert records[-1]["status"] == "completed" and records[-1]["step"] == trainer.total_steps
    for r in records:  # the LR reported is the policy at global progress, across unequal stages
        factor, _ = s.lr_policy((r["step"] - 1) / trainer.total_steps)
        assert r["lr"] == pytest.approx(0.05 * factor)
    assert [r["image_size"] for r in records if r["step"] in ends] == [st.image_size for st in s.stages]
    assert records[-1]["examples"] == trainer.total_steps * 128
    assert records[-1]["compute"] == sum(n * 128 * st.image_size ** 2 for n, st in zip(trainer.stage_steps, s.stages))


def test_at_a_compute_budget_a_half_size_stage_trains_four_times_the_examples(mnist, tmp_path):
    from tune_growth.schedule.core import Schedule, Stage
    every = tuple(range(10))
    # 0.2 full-size epochs of the 3,600 training images: 1,440 at 14 px and 360 at 28 px, 40 a batch
    s = Schedule((Stage(every, None, 14, 0.5), Stage(every, None, 28, 0.5)), 10, hypothesis="h3", budget_epochs=0.2,
                 batch_size=40, max_lr=0.05, budget_unit="compute")
    trainer = Trainer(s, mnist, RunConfig(device="cpu", evals=4, cache_dir=str(tmp_path)))
    records = list(trainer.run())
    ends = [r for r in records if r["stage_end"]]
    small, full = ends[0]["examples"], ends[1]["examples"] - ends[0]["examples"]
    assert (small, full) == (1440, 360)  # the same compute each: 4x the examples at half the side
    assert records[-1]["compute"] == 0.2 * len(mnist.train_y) * 28 ** 2  # examples x pixels of the budget
    assert trainer.full_problem_share(records[-1]["examples"], records[-1]["compute"]) == 0.5
    # evaluations every quarter of the compute (141,120 examples x px): after 720 examples at 14 px, then 200
    # into the 28 px stage; spaced by examples (every 720) the second would not exist
    assert [r["examples"] for r in records if not r["stage_end"]] == [720, 1640]


def test_seen_class_metrics_restrict_to_the_stage_classes(mnist, tmp_path):
    # 2 epochs: stage 0 gets 4 steps on its two classes (1 epoch of the 3,600 training images gave it 2)
    s = build_schedule({"hypothesis": "h2", "stages": 3, "h2_start": 2, "budget_epochs": 2.0,
                        "batch_size": 128, "max_lr": 0.05}, mnist)
    trainer = Trainer(s, mnist, RunConfig(device="cpu", evals=1, cache_dir=str(tmp_path)))
    first = next(trainer.run())
    assert first["classes_seen"] == 2 and first["stage"] == 0
    # two classes learned, eight never seen: accuracy over all ten is at most 2/10 of the seen one + chance
    assert first["val_acc_seen"] > 0.8 and first["val_acc"] <= 0.25
    manual = trainer.evaluate("val", first["image_size"], s.stages[0].classes)
    assert manual["val_acc_seen"] == first["val_acc_seen"]


def test_flip_tta_changes_evaluation_only(mnist, tmp_path):
    plain, tta = schedule(mnist), schedule(mnist, tta=True)
    a = Trainer(plain, mnist, RunConfig(device="cpu", evals=1, cache_dir=str(tmp_path)))
    b = Trainer(tta, mnist, RunConfig(device="cpu", evals=1, cache_dir=str(tmp_path)))
    ra, rb = list(a.run())[-1], list(b.run())[-1]
    assert ra["train_loss"] == rb["train_loss"] and ra["test_loss"] != rb["test_loss"] and ra["val_loss"] != rb["val_loss"]


def test_lr_find_uses_the_shared_cache(mnist, tmp_path):
    s = schedule(mnist, max_lr="find", lr_mult=2.0)
    first = Trainer(s, mnist, RunConfig(device="cpu", evals=1, cache_dir=str(tmp_path)))
    next(first.run())
    files = list((tmp_path / "lr_finder").glob("*.json"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    second = Trainer(s, mnist, RunConfig(device="cpu", evals=1, cache_dir=str(tmp_path)))
    next(second.run())
    assert files[0].stat().st_mtime_ns == stamp and second.max_lr == first.max_lr
    assert first.max_lr == pytest.approx(2.0 * first.find_max_lr()["suggestions"]["steep"])


def test_checkpoint_of_another_schedule_is_refused(mnist, tmp_path):
    a = Trainer(schedule(mnist), mnist, RunConfig(device="cpu", cache_dir=str(tmp_path)))
    b = Trainer(schedule(mnist, stages=2), mnist, RunConfig(device="cpu", cache_dir=str(tmp_path)))
    with pytest.raises(ValueError, match="different schedule"):
        b.load_state_dict(a.state_dict())


def test_a_class_subset_stage_trains_only_its_classes_outputs(mnist, tmp_path):
    s = build_schedule({"hypothesis": "h2", "stages": 2, "h2_start": 2, "budget_epochs": 1.0, "batch_size": 128,
                        "max_lr": 0.05, "weight_decay": 0.0}, mnist)
    trainer = Trainer(s, mnist, RunConfig(device="cpu", evals=1, cache_dir=str(tmp_path)))
    head = trainer.model.head[-1]
    before = head.weight.detach().clone()
    record = next(trainer.run())  # the end of stage 0 (two classes)
    assert record["stage"] == 0 and record["stage_end"]
    seen = list(s.stages[0].classes)
    unseen = [c for c in range(10) if c not in seen]
    assert torch.equal(head.weight[unseen], before[unseen])  # no gradient reached the unseen classes
    assert not torch.equal(head.weight[seen], before[seen])


def test_records_monitor_validation_and_evaluate_test_once_at_the_end(mnist, tmp_path):
    s = schedule(mnist)
    records = list(Trainer(s, mnist, RunConfig(device="cpu", evals=4, cache_dir=str(tmp_path))).run())
    assert all(r["val_acc"] is not None and r["val_loss_seen"] is not None for r in records)
    assert all(r["test_acc"] is None and r["test_loss"] is None for r in records[:-1])  # test chooses nothing
    assert records[-1]["finished"] and 0.5 < records[-1]["test_acc"] <= 1 and records[-1]["test_loss_seen"] > 0
    on_test = list(Trainer(s, mnist, RunConfig(device="cpu", evals=4, monitor="test", cache_dir=str(tmp_path))).run())
    assert all(r["test_acc"] is not None for r in on_test) and on_test[-1]["val_acc"] is not None
    assert all(r["val_acc"] is None for r in on_test[:-1])
    assert on_test[-1]["test_acc"] == records[-1]["test_acc"]  # what is evaluated never changes the training


def test_validation_monitor_needs_a_validation_split(tmp_path):
    from tune_growth.data import DataSpec

    whole = load_dataset(DataSpec("mnist5k", val_fraction=0))
    with pytest.raises(ValueError, match="monitor='val' needs a validation split"):
        Trainer(schedule(whole), whole, RunConfig(device="cpu", cache_dir=str(tmp_path)))
    assert list(Trainer(schedule(whole), whole, RunConfig(device="cpu", monitor="test", evals=1, cache_dir=str(tmp_path))).run())


class FakeClock:
    """The trainer's perf_counter (monkeypatched into trainer.py): it moves only when told, by
    seconds that are whole numbers, so every sum of its readings is exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


STEP_S, EVAL_S, CHECKPOINT_S = 1.0, 1_000.0, 100_000.0  # what a step, an evaluation, a checkpoint cost


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(trainer_module, "perf_counter", fake)
    return fake


def timed_trainer(clock: FakeClock, schedule, data, config, eval_cost: float = EVAL_S) -> Trainer:
    """A trainer each of whose optimizer steps costs STEP_S on `clock` and each evaluation `eval_cost`
    (the real evaluation still runs); `trainer.evaluations` counts the evaluations."""

    class Timed(Trainer):
        evaluations = 0

        def evaluate(self, *args):
            self.evaluations += 1
            clock.advance(eval_cost)
            return super().evaluate(*args)

    trainer = Timed(schedule, data, config)
    trainer.optimizer.register_step_post_hook(lambda *_: clock.advance(STEP_S))
    return trainer


def test_the_clock_counts_training_not_evaluation(mnist, tmp_path, clock):
    # The test split (1,000 images) evaluated at every record, each evaluation EVAL_S on the clock:
    # 40 of them cost far more than the training itself, and the old clock (read before each
    # evaluation) counted them.
    s = schedule(mnist, budget_epochs=4.0)
    runs = {}
    for evals in (4, 40):
        trainer = timed_trainer(clock, s, mnist, RunConfig(device="cpu", evals=evals, monitor="test",
                                                            cache_dir=str(tmp_path)))
        runs[evals] = (trainer, list(trainer.run()))
    for trainer, records in runs.values():
        assert [r["wall_seconds"] for r in records] == [r["step"] * STEP_S for r in records]  # the steps alone
        assert trainer.evaluations == len(records) + 1  # test at every record, validation too at the end
        assert records[-1]["eval_seconds"] == trainer.evaluations * EVAL_S  # the evaluations alone
    (few_trainer, few), (_, many) = runs[4], runs[40]
    assert few[-1]["wall_seconds"] == many[-1]["wall_seconds"] == few_trainer.total_steps * STEP_S
    assert many[-1]["eval_seconds"] > 2 * few[-1]["eval_seconds"]


def test_a_stage_heavy_schedule_is_not_charged_for_its_stage_end_evaluations(mnist, tmp_path, clock):
    def checkpoint(trainer):  # a consumer that checkpoints every record (CHECKPOINT_S on the clock)
        torch.save(trainer.state_dict(), io.BytesIO())
        clock.advance(CHECKPOINT_S)

    s = schedule(mnist, hypothesis="h3", stages=6, budget_epochs=8.0, early_share=0.5)
    config = RunConfig(device="cpu", evals=1, cache_dir=str(tmp_path))
    plain_trainer = timed_trainer(clock, s, mnist, config)
    plain = list(plain_trainer.run())
    slow_trainer = timed_trainer(clock, s, mnist, config, eval_cost=8 * EVAL_S)  # an evaluation 8x as costly
    slow = []
    for record in slow_trainer.run():
        slow.append(record)
        checkpoint(slow_trainer)
    # the same training clock, exactly: the steps alone, however costly the evaluations and checkpoints
    assert slow[-1]["wall_seconds"] == plain[-1]["wall_seconds"] == plain_trainer.total_steps * STEP_S
    # six stage ends, one evaluation due by the examples drawn (the last stage rounds up to whole
    # batches past the budget) and the final test: 8 evaluations at 8x, plus the checkpoints (all but
    # the last record's, taken after it), sit in eval_seconds
    assert len(plain) == len(slow) == 7 and sum(r["stage_end"] for r in slow) == 6
    assert plain_trainer.evaluations == slow_trainer.evaluations == len(slow) + 1
    assert plain[-1]["eval_seconds"] == 8 * EVAL_S
    assert slow[-1]["eval_seconds"] == 8 * 8 * EVAL_S + (len(slow) - 1) * CHECKPOINT_S
    assert slow[-1]["eval_seconds"] > 5 * plain[-1]["eval_seconds"]


def test_two_datasets_of_the_same_name_and_size_run_two_range_tests(tmp_path):
    from dataset_files import write_npz

    from tune_growth.data import DataSpec

    finders = []
    for seed in (1, 2, 1):  # the third folder holds the first one's images again
        root = write_npz(tmp_path / f"npz{len(finders)}", shape=(12, 12), seed=seed)
        data = load_dataset(DataSpec("npz", str(root)))
        s = build_schedule({"budget_epochs": 1.0, "batch_size": 8, "max_lr": "find"}, data)
        finders.append(Trainer(s, data, RunConfig(device="cpu", model="mlp", evals=1, cache_dir=str(tmp_path / "cache"))).find_max_lr())
    assert len(list((tmp_path / "cache" / "lr_finder").glob("*.json"))) == 2
    assert finders[0] == finders[2] and finders[0]["losses"] != finders[1]["losses"]


def test_example_rankings_are_computed_once_per_dataset_and_method(mnist, tmp_path):
    from tune_growth.schedule.selection import rank_examples

    s = schedule(mnist, h1_selection="diverse")
    first = Trainer(s, mnist, RunConfig(device="cpu", cache_dir=str(tmp_path)))
    files = list((tmp_path / "selection").glob("rank_*.npz"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    second = Trainer(s, mnist, RunConfig(device="cpu", cache_dir=str(tmp_path), seed=3))  # another trial, same data
    assert files[0].stat().st_mtime_ns == stamp
    fresh = rank_examples(mnist, "diverse")
    assert all(torch.equal(a, b) and torch.equal(a, c) for a, b, c in zip(first.rankings, second.rankings, fresh))
    Trainer(schedule(mnist, h1_selection="iconic"), mnist, RunConfig(device="cpu", cache_dir=str(tmp_path)))
    assert len(list((tmp_path / "selection").glob("rank_*.npz"))) == 2


def test_an_unaugmented_stage_gathers_from_a_set_normalized_once(mnist, tmp_path):
    # stage 0: 2 epochs at half size; mixup mixes after normalizing, so still a gather from the prepared set
    s = schedule(mnist, hypothesis="h3", stages=2, early_share=0.5, budget_epochs=4.0, mixup_alpha=0.3)
    trainer = Trainer(s, mnist, RunConfig(device="cpu", cache_dir=str(tmp_path)))
    trainer.enter_stage(0)  # a smaller image size than stored: normalized and resized once
    size, prepared = s.stages[0].image_size, trainer.prepared
    assert size < mnist.image_size and prepared.shape == (len(mnist.train_y), 1, size, size)
    idx = trainer.stream.next(64)
    per_batch = trainer.augmenter.batch(mnist.train_x, mnist.train_y, idx, size, torch.Generator().manual_seed(0),
                                        host=torch.Generator().manual_seed(0))
    trainer.host_generator.manual_seed(0)
    got = trainer._batch(0, idx, trainer.generator)
    assert torch.equal(got.x, per_batch.x) and got.lam == per_batch.lam and torch.equal(got.y_mix, per_batch.y_mix)
    cropped = Trainer(schedule(mnist, hypothesis="h3", stages=2, early_share=0.5, budget_epochs=4.0, crop_pad=2),
                      mnist, RunConfig(device="cpu", cache_dir=str(tmp_path)))
    cropped.enter_stage(0)
    assert cropped.prepared is None  # a crop moves pixels at the stored size: per batch
    short = Trainer(schedule(mnist), mnist, RunConfig(device="cpu", cache_dir=str(tmp_path)))
    short.enter_stage(0)
    assert short.prepared is None  # 1/cls for a sliver of the budget: less than one pass, per batch is less work


def test_a_compiled_run_matches_eager_and_its_checkpoint_loads_uncompiled(mnist, tmp_path):
    s = schedule(mnist, hypothesis="h3", stages=2, budget_epochs=0.5)  # two image sizes: two compilations
    eager = strip(Trainer(s, mnist, RunConfig(device="cpu", evals=2, cache_dir=str(tmp_path))).run())
    compiled = Trainer(s, mnist, RunConfig(device="cpu", evals=2, compile="on", cache_dir=str(tmp_path)))
    records = strip(compiled.run())
    assert compiled.compiled and [r["image_size"] for r in records] == [r["image_size"] for r in eager]
    for a, b in zip(records, eager):  # inductor fuses ops: the same numbers up to float rounding
        assert a["val_acc"] == pytest.approx(b["val_acc"], abs=0.01) and a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-3)
    plain = Trainer(s, mnist, RunConfig(device="cpu", evals=2, cache_dir=str(tmp_path)))
    plain.load_state_dict(compiled.state_dict())  # parameter names without the compile wrapper's prefix
    assert plain.counters.status == "completed"
