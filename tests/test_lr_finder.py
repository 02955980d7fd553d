"""LR finder: suggestion rules on synthetic curves with known answers, state restored, shared cache."""

import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import torch

from tune_growth.train.lr_finder import cached_range_test, minimum, range_test, steep, suggest, valley

LRS = list(np.logspace(-6, 1, 141))  # 20 points per decade


def synthetic(x):
    """Loss over log10(lr): a sigmoid drop centred at 1e-2 (steepest there), a quadratic rise past 1e-1."""
    return 2.3 - 1.0 / (1 + np.exp(-3 * (x + 2))) + 4 * np.maximum(x + 1, 0) ** 2


def test_steep_finds_the_steepest_descent():
    losses = [synthetic(np.log10(lr)) for lr in LRS]
    assert steep(LRS, losses) == pytest.approx(1e-2, rel=0.13)  # within one grid step


def test_steep_ignores_noise_on_the_flat_start():
    losses = [synthetic(np.log10(lr)) for lr in LRS]
    losses[5], losses[6] = losses[4] + 0.3, losses[4] - 0.05  # a wiggle steeper than the real descent
    assert steep(LRS, losses) == pytest.approx(1e-2, rel=0.13)


def test_minimum_is_a_tenth_of_the_lowest_point():
    losses = [synthetic(np.log10(lr)) for lr in LRS]
    assert minimum(LRS, losses) == pytest.approx(LRS[int(np.argmin(losses))] / 10)


def test_valley_follows_fastai_on_a_hand_computed_curve():
    # longest strictly falling run: 5, 4, 3, 2, 1 at positions 0, 1, 3, 4, 5 (length 5, start 0);
    # fastai then takes start + int(5/3) + int(5/3/2) = 0 + 1 + 0 = position 1
    lrs = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
    assert valley(lrs, [5, 4, 6, 3, 2, 1, 7]) == 1e-4
    # on a clean V the valley lies before the minimum, where the loss still falls
    v_lrs = list(np.logspace(-4, 0, 41))
    v = valley(v_lrs, [abs(np.log10(lr) + 1) for lr in v_lrs])
    assert 1e-4 < v < 1e-1


def test_suggest_trims_the_ends():
    losses = [synthetic(np.log10(lr)) for lr in LRS]
    losses[-3:] = [50.0, 80.0, 200.0]  # a divergence spike would otherwise dominate steepness
    assert set(suggest(LRS, losses)) == {"valley", "steep", "minimum"}
    assert suggest(LRS, losses)["steep"] == pytest.approx(1e-2, rel=0.13)


def _tiny():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def test_range_test_restores_model_and_optimizer_and_stops_on_divergence():
    model, opt = _tiny()
    opt.step()  # give the optimizer some state to restore
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt_before = json.dumps(opt.state_dict()["param_groups"])
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    lrs, losses = range_test(model, opt, lambda: torch.nn.functional.cross_entropy(model(x), y),
                             start_lr=1e-4, end_lr=1e4, num_steps=60)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert json.dumps(opt.state_dict()["param_groups"]) == opt_before
    assert len(lrs) < 60  # loss blew up at some huge LR and the test stopped
    assert lrs == sorted(lrs) and np.allclose(np.diff(np.log(lrs)), np.log(1e8) / 59)


def _slow_range_test(args):
    key, cache_dir, marker_dir = args
    def run():
        open(os.path.join(marker_dir, f"ran-{os.getpid()}"), "w").close()
        time.sleep(0.5)
        return list(LRS[:40]), [float(synthetic(np.log10(lr))) for lr in LRS[:40]]
    return cached_range_test(key, run, cache_dir)["suggestions"]


def test_concurrent_trials_share_one_range_test(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    key = {"dataset": "x", "model": "y", "batch_size": 8, "image_size": 16, "seed": 0}
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_slow_range_test, [(key, str(tmp_path / "cache"), str(markers))] * 3))
    assert len(os.listdir(markers)) == 1  # one process ran the test; the others waited and read it
    assert results[0] == results[1] == results[2]
    assert len(list((tmp_path / "cache").glob("lr_find_*.json"))) == 1
