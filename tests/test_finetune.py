"""Fine-tuning as stages, without the internet: a body pretrained here on some classes, fine-tuned
from its file on the others; frozen groups stay put (BatchNorm statistics too); each group's LR is
its multiplier times the stage's; cached activations give the same head gradients as full forward
passes; resume is exact across cached and unfrozen stages; torchvision's weight files load."""

import io
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import torch
import torchvision

from tune_growth.data import DataSpec, load_dataset
from tune_growth.models import groups
from tune_growth.models.pretrained import load_pretrained
from tune_growth.models.registry import MODELS, build_model
from tune_growth.schedule.builders import build_schedule, sgdr_cycles
from tune_growth.schedule.core import ScheduleError
from tune_growth.train.config import RunConfig
from tune_growth.train.precompute import ActivationCache
from tune_growth.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
MODEL, WIDTH = "xresnet18", 0.25  # narrow, so a CPU test pretrains and fine-tunes in seconds


@pytest.fixture(scope="module")
def halves():
    return (load_dataset(DataSpec("mnist5k", classes=(0, 1, 2, 3, 4))),
            load_dataset(DataSpec("mnist5k", classes=(5, 6, 7, 8, 9))))


@pytest.fixture(scope="module")
def pretrained(halves, tmp_path_factory):
    """A body trained here for two epochs on digits 0-4, saved as train.py saves model.pt."""
    path = tmp_path_factory.mktemp("pretrained") / "model.pt"
    trainer = Trainer(build_schedule({"budget_epochs": 2.0, "max_lr": 0.05}, halves[0]), halves[0],
                      RunConfig(device="cpu", model=MODEL, width=WIDTH, evals=1, precision="fp32"))
    assert list(trainer.run())[-1]["test_acc"] > 0.8
    torch.save(trainer.model.state_dict(), path)
    return path


def recipe(data, **params):
    base = {"hypothesis": "finetune", "budget_epochs": 1.5, "ft_head_epochs": 0.3, "ft_aug_epochs": 0.3,
            "crop_pad": 2, "max_lr": 0.02}
    return build_schedule({**base, **params}, data)


def config(tmp_path, pretrained, **kw):
    return RunConfig(device="cpu", model=MODEL, width=WIDTH, evals=6, precision="fp32", cache_dir=str(tmp_path),
                     pretrained=str(pretrained), **kw)


def body_state(model):
    return {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("head.")}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_is_grouped_with_a_head_last_and_splits_at_any_frozen_prefix(name):
    model = build_model(name, 3, 5, 0.25 if name in ("resnet9", "xresnet18", "xresnet34", "xresnet50") else 1.0).eval()
    names = groups.group_names(model)
    assert names[-1] == "head" and len(names) >= 2
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        expected = model(x)
        for n_frozen in range(1, len(names)):
            prefix, rest = groups.split_frozen(model, n_frozen)
            assert torch.allclose(rest(prefix(x)), expected, atol=1e-5)


def test_multipliers_run_geometrically_from_the_ratio_to_the_head():
    assert groups.multipliers(1 / 9, 3) == pytest.approx([1 / 9, 1 / 3, 1.0])
    assert groups.multipliers(1.0, 6) == [1.0] * 6
    assert groups.frozen_count(-1, 6) == 5 and groups.frozen_count(2, 6) == 2 and groups.frozen_count(0, 6) == 0
    with pytest.raises(ValueError, match=r"freeze_to=6 .* expected -5..5"):
        groups.frozen_count(6, 6)


def test_recipe_from_a_pretrained_file_freezes_then_unfreezes_with_differential_lrs(halves, pretrained, tmp_path):
    target = halves[1]
    trainer = Trainer(recipe(target), target, config(tmp_path, pretrained))
    saved = torch.load(pretrained, weights_only=True)
    start = body_state(trainer.model)
    assert all(torch.equal(start[k], saved[k]) for k in start)  # the body is the file's; the head is new
    assert [s.freeze_to for s in trainer.schedule.stages] == [-1, -1, 0]
    n_groups = len(trainer.groups)
    mults = groups.multipliers(1 / 9, n_groups)
    records, lrs_seen = [], []
    for record in trainer.run():
        records.append(record)
        lrs_seen.append((record["stage"], groups.lrs(trainer.optimizer)))
        if record["stage_end"] and record["stage"] == 1:  # both frozen stages over
            now = body_state(trainer.model)
            assert all(torch.equal(now[k], start[k]) for k in start), "a frozen weight or BN statistic moved"
    assert [r["precomputed"] for r in records if r["stage"] == 0][0] and not records[-1]["precomputed"]
    assert [r["frozen_groups"] for r in records][0] == n_groups - 1 and records[-1]["frozen_groups"] == 0
    for stage, lrs in lrs_seen:
        head = lrs["head"]
        expected = [1.0] * n_groups if stage < 2 else mults
        assert [lrs[g] / head for g in trainer.groups] == pytest.approx(expected)
    assert lrs_seen[-1][1]["head"] == pytest.approx(records[-1]["lr"])
    assert set(trainer.stage_lr) == {0, 1, 2} and 2 in trainer.stage_finders  # a range test at the unfreeze
    end = body_state(trainer.model)
    assert not torch.equal(end["stem.0.0.weight"], start["stem.0.0.weight"])  # unfrozen: the body trained
    frozen_acc = [r["val_acc"] for r in records if r["stage_end"]][0]
    assert records[-1]["val_acc"] > max(0.6, frozen_acc)  # chance is 0.2; unfreezing helped


def test_cached_activations_give_the_head_the_same_gradients(halves, pretrained, tmp_path):
    target = halves[1]
    s = recipe(target)
    grads = {}
    for precompute in (True, False):
        trainer = Trainer(s, target, config(tmp_path, pretrained, precompute=precompute))
        trainer.enter_stage(0)
        assert (trainer.cache is not None) == precompute
        torch.manual_seed(0)  # the same dropout masks in both
        idx = torch.arange(0, 256, 2)
        loss = trainer._loss(trainer._batch(0, idx, trainer.generator))
        loss.backward()
        grads[precompute] = {n: p.grad.clone() for n, p in trainer.model.head.named_parameters()}
        assert all(p.grad is None for p in trainer.model.stem.parameters())  # nothing flows into the frozen body
    for name in grads[True]:
        assert torch.allclose(grads[True][name], grads[False][name], rtol=1e-4, atol=1e-6), name


def test_activations_spill_to_a_memory_mapped_file_and_leave_nothing_behind(halves, tmp_path):
    data = halves[1]
    model = build_model(MODEL, 1, 5, WIDTH).eval()
    prefix, _ = groups.split_frozen(model, 5)
    norm = lambda x: x.float() / 255  # noqa: E731
    import contextlib
    memory = ActivationCache(prefix, data.test_x, norm, contextlib.nullcontext, batch=300)
    disk = ActivationCache(prefix, data.test_x, norm, contextlib.nullcontext, batch=300, memory_mb=0,
                           folder=tmp_path)
    assert disk.on_disk and not memory.on_disk and list(tmp_path.iterdir()) == []
    idx = torch.tensor([3, 1, 400])
    assert torch.equal(memory.gather(idx), disk.gather(idx)) and memory.features.shape[1] == 2 * 128


def test_resume_is_exact_in_a_cached_stage_and_after_the_unfreeze(halves, pretrained, tmp_path):
    target = halves[1]
    s = recipe(target, mixup_alpha=0.2)
    cfg = config(tmp_path, pretrained)
    full = Trainer(s, target, cfg)
    expected = [{k: v for k, v in r.items() if k not in ("wall_seconds", "eval_seconds")} for r in full.run()]
    for stop_after in (1, len(expected) - 2):  # inside the cached head stage; inside the unfrozen stage
        first, head = Trainer(s, target, cfg), []
        for record in first.run():
            head.append(record)
            if len(head) == stop_after:
                break
        buffer = io.BytesIO()
        torch.save(first.state_dict(), buffer)
        buffer.seek(0)
        resumed = Trainer(s, target, cfg)
        resumed.load_state_dict(torch.load(buffer, weights_only=True))
        got = [{k: v for k, v in r.items() if k not in ("wall_seconds", "eval_seconds")} for r in head + list(resumed.run())]
        assert got == expected, f"resume after record {stop_after} differs"


def test_a_cached_lr_finder_leaves_the_dropout_masks_as_a_computed_one_does(halves, tmp_path):
    s = build_schedule({"budget_epochs": 0.5}, halves[1])  # max_lr "find"; the fastai head has dropout
    cfg = RunConfig(device="cpu", model=MODEL, width=WIDTH, evals=2, precision="fp32", cache_dir=str(tmp_path))
    computed = [r["train_loss"] for r in Trainer(s, halves[1], cfg).run()]
    from_cache = [r["train_loss"] for r in Trainer(s, halves[1], cfg).run()]
    assert len(list((tmp_path / "lr_finder").glob("*.json"))) == 1 and computed == from_cache


def test_torchvision_weight_files_load_with_rgb_summed_for_grey(tmp_path, monkeypatch):
    torch.manual_seed(0)
    theirs = torchvision.models.resnet18(weights=None)
    for p in theirs.parameters():
        p.data.normal_()
    path = tmp_path / "resnet18.pth"
    torch.save(theirs.state_dict(), path)
    ours = build_model("resnet18", 1, 7)
    load_pretrained(ours, "resnet18", str(path))
    assert torch.allclose(ours.stem[0].weight, theirs.conv1.weight.sum(dim=1, keepdim=True))
    assert torch.equal(ours.layer3[1].conv2.weight, theirs.layer3[1].conv2.weight)
    assert ours.head[-1].out_features == 7
    # 'imagenet' reads torchvision's weight enum through torch.hub's cache: no download when it is there
    hub = tmp_path / "torch_home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    torch.save(theirs.state_dict(), hub / Path(torchvision.models.ResNet18_Weights.DEFAULT.url).name)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    again = build_model("resnet18", 3, 7)
    load_pretrained(again, "resnet18", "imagenet")
    assert torch.equal(again.stem[0].weight, theirs.conv1.weight)


@pytest.mark.parametrize("case, expected", [
    ("missing", "is not a file"),
    ("other model", "lack 'stem.0.0.weight' of xresnet18"),
    ("other width", "expected (8, 1, 3, 3) for xresnet18"),
    ("not a state dict", "not a state dict of tensors"),
    ("imagenet for xresnet", "not available for 'xresnet18'"),
])
def test_bad_pretrained_weights_give_one_line_errors(case, expected, tmp_path):
    path = tmp_path / "w.pt"
    if case == "other model":
        torch.save(build_model("lenet5", 1, 5).state_dict(), path)
    elif case == "other width":
        torch.save(build_model(MODEL, 1, 5, 0.5).state_dict(), path)
    elif case == "not a state dict":
        torch.save({"weights": [1, 2, 3]}, path)
    source = "imagenet" if case == "imagenet for xresnet" else str(path)
    with pytest.raises(ValueError) as info:
        load_pretrained(build_model(MODEL, 1, 5, WIDTH), MODEL, source)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_the_recipe_builder_and_its_bad_values(halves):
    data = halves[1]
    s = build_schedule({"hypothesis": "finetune", "budget_epochs": 20.0, "crop_pad": 2}, data)
    head, aug, unfrozen = s.stages
    assert (head.freeze_to, head.augment, aug.freeze_to, aug.augment, unfrozen.freeze_to) == (-1, False, -1, True, 0)
    assert unfrozen.max_lr == "find" and unfrozen.lr_ratio == pytest.approx(1 / 9)
    assert unfrozen.lr_policy.name == "sgdr" and unfrozen.lr_policy.cycles == 4  # 1+2+4+8 = 15 <= 18 epochs
    assert [round(st.share, 6) for st in s.stages] == [0.05, 0.05, 0.9]
    assert sgdr_cycles(18, 1, 2) == 4 and sgdr_cycles(0.5, 1, 2) == 1 and sgdr_cycles(3, 1, 1) == 3
    assert len(build_schedule({"hypothesis": "finetune", "ft_aug_epochs": 0}, data).stages) == 2
    for params, message in [({"ft_head_epochs": 15, "ft_aug_epochs": 5}, "sum below the budget"),
                            ({"ft_lr_ratio": 2.0}, "ft_lr_ratio=2.0"), ({"ft_cycle_len": 0}, "ft_cycle_len=0"),
                            ({"ft_unfreeze_lr_mult": -1.0}, "ft_unfreeze_lr_mult=-1.0")]:
        with pytest.raises(ScheduleError, match=message):
            build_schedule({"hypothesis": "finetune", **params}, data)


def test_a_freeze_the_model_cannot_honour_is_a_one_line_error(halves, tmp_path):
    s = build_schedule({"hypothesis": "baseline", "max_lr": 0.01}, halves[1])
    s = replace(s, stages=(replace(s.stages[0], freeze_to=-3),))
    expected = r"stage 0 freeze_to=-3 is invalid for lenet5 \(layer groups body, head\); expected -1..1"
    with pytest.raises(ScheduleError, match=expected):
        Trainer(s, halves[1], RunConfig(device="cpu", cache_dir=str(tmp_path)))


def test_class_subsets_relabel_and_prune_the_hierarchy():
    full = load_dataset(DataSpec("mnist5k", val_fraction=0))
    half = load_dataset(DataSpec("mnist5k", classes=(7, 2, 9), val_fraction=0))
    assert half.classes == (full.classes[7], full.classes[2], full.classes[9]) and half.name == "mnist5k[7,2,9]"
    assert torch.equal(half.train_y.bincount(), full.train_y.bincount()[[7, 2, 9]])
    assert torch.equal(half.train_x[half.train_y == 0], full.train_x[full.train_y == 7])
    from tune_growth.data import CIFAR10_HIERARCHY, select_classes
    tree = select_classes(replace(full, hierarchy=CIFAR10_HIERARCHY), (3, 5, 0)).hierarchy  # cat, dog, airplane
    assert sorted(_leaves(tree)) == [0, 1, 2] and _depth_of_pair(tree, 0, 1) > _depth_of_pair(tree, 0, 2)
    from tune_growth.data import DatasetError, parse_classes
    assert parse_classes("0-2,7") == (0, 1, 2, 7)
    for bad, message in [(lambda: parse_classes("0-x"), "classes '0-x' are invalid"),
                         (lambda: select_classes(full, (4,)), "classes [4] are invalid"),
                         (lambda: select_classes(full, (4, 12)), "expected at least 2 distinct ids in 0..9")]:
        with pytest.raises(DatasetError) as info:
            bad()
        assert message in str(info.value) and "\n" not in str(info.value)


def _leaves(tree):
    return [tree] if isinstance(tree, int) else [x for t in tree for x in _leaves(t)]


def _depth_of_pair(tree, a, b, depth=0):
    """Depth of the deepest subtree holding both a and b (cat=0 and dog=1 share more than cat and airplane)."""
    if isinstance(tree, int):
        return -1
    inner = [_depth_of_pair(t, a, b, depth + 1) for t in tree if {a, b} <= set(_leaves(t))]
    return inner[0] if inner else depth


def test_train_cli_pretrains_then_runs_the_recipe_from_the_file(tmp_path):
    def train(*args):
        return subprocess.run([sys.executable, "-m", "tune_growth.train.cli", "--model", MODEL, "--width", str(WIDTH),
                               "--quiet", "--evals", "3", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)

    pre = train("--classes", "0-4", "--budget", "0.5", "--lr", "0.02", "--out", str(tmp_path / "pre"))
    assert pre.returncode == 0, pre.stderr[-2000:]
    ft = train("--classes", "5-9", "--hypothesis", "finetune", "--budget", "1.5", "--set", "ft_head_epochs=0.3",
               "--set", "ft_aug_epochs=0.3", "--set", "crop_pad=2", "--pretrained", str(tmp_path / "pre" / "model.pt"),
               "--out", str(tmp_path / "ft"))
    assert ft.returncode == 0, ft.stderr[-2000:]
    metrics = pd.read_parquet(tmp_path / "ft" / "metrics.parquet")
    assert metrics.groupby("stage")["precomputed"].first().tolist() == [True, False, False]
    assert '"stage_max_lr": {"0"' in ft.stdout and "head only, no aug" in ft.stderr
    bad = train("--pretrained", str(tmp_path / "nowhere.pt"), "--out", str(tmp_path / "bad"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "is not a file" in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_the_recipe_runs_as_a_search_space_from_the_pretrained_file(pretrained, tmp_path):
    # the shipped space's frozen phases (up to 2 + 2 epochs) do not fit 2.5 epochs (search refuses it):
    # a copy with them scaled down, as a user with a small budget would write
    space = (ROOT / "search_spaces" / "finetune.py").read_text()
    for old, new in (('"ft_head_epochs", 0.25, 2.0', '"ft_head_epochs", 0.1, 0.5'),
                     ('"ft_aug_epochs", 0.0, 2.0', '"ft_aug_epochs", 0.0, 0.5')):
        assert old in space
        space = space.replace(old, new)
    (tmp_path / "finetune_small.py").write_text(space)
    cmd = [sys.executable, "-m", "tune_growth.search", str(tmp_path / "finetune_small.py"), "--classes", "5-9", "--pretrained", str(pretrained),
           "--width", str(WIDTH), "--trials", "3", "--budget", "2.5", "--evals", "4", "--num-cpus", "2",
           "--storage", str(tmp_path), "--name", "ft"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    trials = pd.read_parquet(tmp_path / "ft" / "trials.parquet")
    metrics = pd.read_parquet(tmp_path / "ft" / "metrics.parquet")
    assert trials["hypothesis"].tolist() == ["baseline", "finetune", "finetune"]
    assert (trials["status"] == "completed").any() and "param_ft_lr_ratio" in trials
    tuned = metrics[metrics["trial_id"].isin(trials.loc[trials["hypothesis"] == "finetune", "trial_id"])]
    assert tuned["precomputed"].any() and (tuned["frozen_groups"] == 0).any()
    assert not metrics[metrics["trial_id"] == trials.loc[0, "trial_id"]]["precomputed"].any()  # the control: all unfrozen
    bad = subprocess.run(cmd[:7] + [str(tmp_path / "missing.pt")] + cmd[8:-1] + ["bad"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "is not a file" in bad.stderr and not (tmp_path / "bad").exists()
