"""The CUDA path, on a machine with CUDA (skipped elsewhere): a staged schedule with bf16,
channels_last and compile across an image-size change, a checkpoint and its resume, the CUDA RNG
in checkpoints, and training steps that never wait for the device."""

import pytest
import torch

from tune_growth.data import load_dataset
from tune_growth.schedule.builders import build_schedule
from tune_growth.train.config import RunConfig
from tune_growth.train.trainer import Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

PARAMS = {"hypothesis": "h3", "stages": 2, "budget_epochs": 1.0, "max_lr": 0.05, "crop_pad": 2, "flip": True,
          "mixup_alpha": 0.3}


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist5k")


def config(tmp_path, **kw):
    return RunConfig(model="resnet9", width=0.25, device="cuda", evals=4, cache_dir=str(tmp_path), **kw)


def test_a_staged_run_on_cuda_uses_bf16_channels_last_and_compile(digits, tmp_path):
    s = build_schedule(PARAMS, digits, device="cuda")
    trainer = Trainer(s, digits, config(tmp_path))
    assert trainer.precision == "bf16" and trainer.compiled and trainer.augmenter.channels_last
    records = list(trainer.run())
    assert sorted({r["image_size"] for r in records}) == [14, 28] and records[-1]["status"] == "completed"
    assert records[-1]["val_acc"] > 0.5 and trainer.eval_batch == 4096
    assert torch.backends.cudnn.benchmark and torch.backends.cuda.matmul.allow_tf32


def test_resume_on_cuda_continues_within_tolerance(digits, tmp_path):
    s = build_schedule(PARAMS, digits, device="cuda")
    full = list(Trainer(s, digits, config(tmp_path)).run())
    first = Trainer(s, digits, config(tmp_path))
    records = first.run()
    head = [next(records), next(records)]
    state = first.state_dict()
    assert {"cuda_rng", "host_generator"} <= set(state)
    resumed = Trainer(s, digits, config(tmp_path))
    resumed.load_state_dict(state)
    rest = list(resumed.run())
    got = head + rest
    assert [r["step"] for r in got] == [r["step"] for r in full]
    for a, b in zip(got, full):  # cuDNN and atomics are not bitwise deterministic
        assert a["val_acc"] == pytest.approx(b["val_acc"], abs=0.03)


def test_training_steps_never_wait_for_the_device(digits, tmp_path):
    s = build_schedule({**PARAMS, "hypothesis": "baseline"}, digits, device="cuda")
    trainer = Trainer(s, digits, config(tmp_path, compile="off"))
    trainer.find_max_lr()

    def step():
        trainer.lr.apply(0, trainer.counters, trainer.stage_steps, trainer.optimizer)
        loss = trainer._loss(trainer._batch(0, trainer.stream.next(s.batch_size), trainer.generator))
        trainer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        trainer.optimizer.step()
        trainer.loss_sum += loss.detach()
        trainer.counters.add_step(s.batch_size, s.stages[0].image_size)

    trainer.enter_stage(0)
    step()  # cuDNN's algorithm search and lazy initialisation happen on the first step
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(5):
            step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
