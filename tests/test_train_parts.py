"""The trainer's parts on their own: counters, the frozen prefix and its caches, the stage LR,
the stage loss, evaluation, checkpoints, and the one record schema."""

import io
import math

import pytest
import torch
import torch.nn.functional as F

from tune_growth.data import DataSpec, load_dataset
from tune_growth.data.augment import Batch
from tune_growth.models import groups
from tune_growth.results.export import RECORD_COLUMNS
from tune_growth.schedule.builders import build_schedule
from tune_growth.train.checkpoint import TrainState
from tune_growth.train.config import DIVERGED_LOSS, RunConfig
from tune_growth.train.counters import Counters
from tune_growth.train.evaluation import diverged_metrics, feature_logits, image_logits, split_metrics
from tune_growth.train.loss import StageLoss
from tune_growth.train.lr_finder import suggest
from tune_growth.train.records import RECORD_FIELDS, SPLIT_COLUMNS
from tune_growth.train.stage_lr import StageLR
from tune_growth.train.trainer import Trainer

MODEL, WIDTH = "xresnet18", 0.25


@pytest.fixture(scope="module")
def half():
    return load_dataset(DataSpec("mnist5k", classes=(5, 6, 7, 8, 9)))


def recipe(data, **params):
    base = {"hypothesis": "finetune", "budget_epochs": 1.5, "ft_head_epochs": 0.3, "ft_aug_epochs": 0.3,
            "crop_pad": 2, "max_lr": 0.02}
    return build_schedule({**base, **params}, data)


# --- counters ---------------------------------------------------------------------------------
def test_counters_sum_steps_and_take_the_mean_loss_once():
    c = Counters()
    for _ in range(3):
        c.add_step(128, 28)
    c.loss_sum = 6.0  # the trainer's device sum, read at the record
    assert (c.step, c.stage_step, c.examples, c.compute) == (3, 3, 384, 384 * 28 ** 2)
    assert c.take_train_loss() == 2.0 and (c.loss_sum, c.loss_count) == (0.0, 0)
    assert c.take_train_loss() == 0.0  # nothing since: no division by zero
    c.next_stage()
    assert (c.stage, c.stage_step, c.step) == (1, 0, 3)


def test_an_evaluation_falls_due_once_per_interval_even_after_a_jump():
    c, due = Counters(), []
    for _ in range(8):
        c.add_step(64, 8)
        due.append(c.eval_due(100.0))
    assert due == [False, True, False, True, True, False, True, True]  # at 128, 256, 320, 448, 512 examples
    c.examples = 1000  # a jump past several intervals counts once, and the next is beyond it
    assert c.eval_due(100.0) and c.next_eval == 11 and not c.eval_due(100.0)


def test_counters_round_trip_and_old_checkpoints_load_with_defaults():
    c = Counters(stage=2, step=7, examples=900, wall=1.5, eval_seconds=0.25, status="completed")
    assert Counters.from_dict(c.to_dict()) == c
    old = {k: v for k, v in c.to_dict().items() if k != "eval_seconds"}
    assert Counters.from_dict(old).eval_seconds == 0.0
    loaded = Counters(eval_seconds=9.0)
    loaded.load_state_dict(old)  # in place, and a field the checkpoint predates goes back to its default
    assert loaded == Counters.from_dict(old) and c.state_dict() == c.to_dict()


# --- the frozen prefix ------------------------------------------------------------------------
def test_the_prefix_freezes_caches_and_is_bypassed_for_range_tests(half, tmp_path):
    t = Trainer(recipe(half), half, RunConfig(device="cpu", model=MODEL, width=WIDTH, precision="fp32", cache_dir=str(tmp_path)))
    p = t.prefix
    n = len(p.groups)
    assert p.counts == [n - 1, n - 1, 0]  # head only, head only with augmentation, all
    assert [p.cached(k) for k in range(3)] == [True, False, False]  # stage 1 augments, stage 2 freezes nothing
    p.apply(0, t.optimizer)
    assert [g["mult"] for g in t.optimizer.param_groups] == pytest.approx(groups.multipliers(
        t.schedule.stages[0].lr_ratio, n))
    assert not any(q.requires_grad for q in t.model.stem.parameters())
    p.update(0)
    cache = p.cache
    x = half.train_x[:4]
    assert cache is not None and p.batch(torch.arange(4)).x.shape[1:] == cache.features.shape[1:]
    assert p.serves("val", t.schedule.stages[0].image_size) and not p.serves("test", 28)
    p.update(0)
    assert p.cache is cache  # the same key keeps the caches
    with pytest.raises(KeyError):
        with p.bypassed():
            assert p.cache is None and p.batch(torch.arange(4)) is None
            assert p.forward(t.augmenter.normalize(x, 28)).shape == (4, half.num_classes)
            raise KeyError("inside")
    assert p.cache is cache  # back, even after an error
    p.update(2)
    assert p.cache is None and p.rest is None and p.eval_cache == {}
    off = RunConfig(device="cpu", model=MODEL, width=WIDTH, precision="fp32", cache_dir=str(tmp_path), precompute=False)
    assert not any(Trainer(recipe(half), half, off).prefix.cached(k) for k in range(3))


# --- the stage LR -----------------------------------------------------------------------------
def curve():
    """A range-test curve: flat, a descent around 1e-3, a blow-up past 0.3."""
    lrs = [1e-5 * 1.2 ** i for i in range(60)]
    return lrs, [2.0 - math.tanh(math.log(lr / 1e-3)) + 10 * max(0.0, lr - 0.3) for lr in lrs]


def test_stage_max_lrs_are_fixed_once_from_the_schedule_or_their_own_range_test(half, tmp_path):
    s = recipe(half)  # stages 0, 1 at the schedule's max LR; stage 2 finds its own at the unfreeze
    lr = StageLR(s, RunConfig(device="cpu", seed=3), "fp32", half.fingerprint)
    calls = []

    def probe(size, augment, seed):
        calls.append((size, augment, seed))
        return curve()

    for k in (0, 1, 2, 2):
        lr.begin(k, probe)
    assert lr.max_lr == pytest.approx(0.02 * s.lr_mult)
    assert lr.stage_lr[0] == pytest.approx(lr.max_lr * s.stages[0].lr_mult)
    assert calls == [(s.stages[2].image_size, s.stages[2].augment, 3 + 1 + 2)]  # once, seeded by the stage
    assert lr.stage_lr[2] == pytest.approx(suggest(*curve())["valley"] * s.stages[2].lr_mult)
    short = StageLR(s, RunConfig(device="cpu"), "fp32", half.fingerprint)
    with pytest.raises(RuntimeError, match="diverged after 3 steps"):
        short.begin(2, lambda *a: ([1e-5, 1e-4, 1e-3], [2.0, 1.0, 9.0]))


def test_the_policy_runs_over_the_schedule_or_over_a_stage_and_scales_each_group(half, tmp_path):
    t = Trainer(recipe(half), half, RunConfig(device="cpu", model=MODEL, width=WIDTH, precision="fp32", cache_dir=str(tmp_path)))
    s, lr, ctr = t.schedule, t.lr, Counters(stage=2, stage_step=5, step=40)
    lr.stage_lr.update({0: 0.02, 2: 0.01})
    t.prefix.apply(2, t.optimizer)
    lr.apply(2, ctr, [10, 10, 40], t.optimizer)
    factor, momentum = s.stages[2].lr_policy(5 / 40) if s.stages[2].lr_policy else s.lr_policy(40 / 60)
    assert lr.now == pytest.approx(0.01 * factor)
    for g in t.optimizer.param_groups:
        assert g["lr"] == pytest.approx(lr.now * g["mult"])
        assert (g["betas"][0] if "betas" in g else g["momentum"]) == pytest.approx(momentum)
    state = lr.state_dict()
    again = StageLR(s, RunConfig(device="cpu"), "fp32", half.fingerprint)
    again.load_state_dict(state)
    assert (again.max_lr, again.stage_lr, again.now) == (lr.max_lr, lr.stage_lr, lr.now)
    again.load_state_dict({"max_lr": 0.1})  # a checkpoint from before stage LRs
    assert (again.stage_lr, again.now) == ({}, 0.0)


# --- the stage loss and evaluation -------------------------------------------------------------
def test_a_subset_stage_loss_is_the_restricted_problem_and_mixup_mixes_two_targets():
    torch.manual_seed(0)
    logits, y, y2 = torch.randn(6, 5), torch.tensor([1, 3, 3, 1, 4, 4]), torch.tensor([4, 1, 3, 3, 1, 4])
    loss = StageLoss(5, 0.0, torch.device("cpu"))
    loss.set_classes((1, 3, 4))
    sub = logits[:, [1, 3, 4]]
    pos = torch.tensor([0, 1, 1, 0, 2, 2])
    assert float(loss(logits, Batch(logits, y))) == pytest.approx(float(F.cross_entropy(sub, pos)))
    assert float(loss(logits, Batch(logits, y), subset=False)) == pytest.approx(float(F.cross_entropy(logits, y)))
    mixed = float(loss(logits, Batch(logits, y, y2, 0.7)))
    pos2 = torch.tensor([2, 0, 1, 1, 0, 2])
    assert mixed == pytest.approx(0.7 * float(F.cross_entropy(sub, pos)) + 0.3 * float(F.cross_entropy(sub, pos2)))
    loss.set_classes(tuple(range(5)))
    assert loss.classes is None and float(loss(logits, Batch(logits, y))) == pytest.approx(
        float(F.cross_entropy(logits, y)))


def test_split_metrics_score_all_classes_and_the_stage_classes_alone():
    logits = torch.tensor([[3.0, 0.0, 5.0], [0.0, 2.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    y = torch.tensor([0, 1, 0, 2])
    m = split_metrics("val", logits, y, (0, 1), 3)
    assert m["val_acc"] == 0.75  # example 0 is called class 2
    assert m["val_acc_seen"] == 1.0  # among classes 0 and 1 it is right, and example 3 (class 2) is left out
    assert m["val_loss_seen"] == pytest.approx(float(F.cross_entropy(logits[:3, :2], y[:3])))
    assert diverged_metrics("test") == {"test_loss": DIVERGED_LOSS, "test_acc": 0.0,
                                        "test_loss_seen": DIVERGED_LOSS, "test_acc_seen": 0.0}


def test_tta_logits_average_each_image_and_its_mirror_from_images_or_features():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 4 * 4, 3))
    x = torch.randn(5, 2, 4, 4)
    off = lambda: torch.autocast("cpu", enabled=False)  # noqa: E731
    plain = image_logits(model, x, lambda v: v * 2, off, 2, False)
    tta = image_logits(model, x, lambda v: v * 2, off, 2, True)
    with torch.no_grad():
        assert torch.allclose(plain, model(x * 2))
        assert torch.allclose(tta, (model(x * 2) + model((x * 2).flip(-1))) / 2)
    feats = feature_logits(model, [x * 2, (x * 2).flip(-1)], off, 3)
    assert torch.allclose(feats, tta, atol=1e-6)


# --- checkpoints and the record schema ----------------------------------------------------------
def test_a_checkpoint_from_before_the_newer_fields_still_resumes(half, tmp_path):
    s = build_schedule({"hypothesis": "h1", "stages": 2, "budget_epochs": 1.0, "max_lr": 0.05}, half)
    config = RunConfig(device="cpu", evals=4, cache_dir=str(tmp_path))
    first = Trainer(s, half, config)
    run = first.run()
    next(run)
    state = first.state_dict()
    state["counters"].pop("eval_seconds")
    for key in ("stage_lr", "lr_now", "torch_rng"):
        state.pop(key)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    resumed = Trainer(s, half, config)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    assert resumed.counters.eval_seconds == 0.0 and resumed.counters.step == first.counters.step
    assert list(resumed.run())[-1]["status"] == "completed"


def test_the_checkpoint_state_keeps_the_on_disk_keys_and_reads_older_checkpoints(half, tmp_path):
    s = build_schedule({"hypothesis": "h1", "stages": 2, "budget_epochs": 0.5, "max_lr": 0.05}, half)
    state = Trainer(s, half, RunConfig(device="cpu", cache_dir=str(tmp_path))).state_dict()
    assert list(state) == ["model", "optimizer", "generator", "counters", "max_lr", "stage_lr", "lr_now", "torch_rng",
                           "stream", "schedule", "config"]  # the keys (and their order) checkpoints always had
    typed = TrainState.from_dict(state)
    assert typed.lr == {"max_lr": state["max_lr"], "stage_lr": {}, "lr_now": 0.0} and typed.cuda_rng is None
    assert list(typed.to_dict()) == list(state)
    older = {k: v for k, v in state.items() if k not in ("stage_lr", "lr_now", "torch_rng")}
    assert TrainState.from_dict(older).torch_rng is None and list(TrainState.from_dict(older).to_dict()) == list(older)


def test_records_carry_exactly_the_schema_fields_and_the_export_writes_them(half, tmp_path):
    s = build_schedule({"hypothesis": "h1", "stages": 2, "budget_epochs": 0.5, "max_lr": 0.05}, half)
    records = list(Trainer(s, half, RunConfig(device="cpu", evals=2, cache_dir=str(tmp_path))).run())
    assert all(tuple(r) == RECORD_FIELDS for r in records)
    assert set(SPLIT_COLUMNS) <= set(RECORD_FIELDS)
    assert RECORD_COLUMNS[:len(RECORD_FIELDS)] == RECORD_FIELDS
