"""The CUDA path, on a machine with CUDA (skipped elsewhere): a staged schedule with bf16,
channels_last and compile across an image-size change, a checkpoint and its resume, the CUDA RNG
in checkpoints, and training steps that never wait for the device: `Trainer.run` itself, under
CUDA's sync debug mode (SyncGuard; its windows are checked on the CPU too)."""

import pytest
import torch

from tune_growth.data import load_dataset
from tune_growth.schedule.builders import build_schedule
from tune_growth.train.config import RunConfig
from tune_growth.train.trainer import Trainer

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

PARAMS = {"hypothesis": "h3", "stages": 2, "budget_epochs": 1.0, "max_lr": 0.05, "crop_pad": 2, "flip": True,
          "mixup_alpha": 0.3}


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist5k")


def config(tmp_path, **kw):
    return RunConfig(model="resnet9", width=0.25, device="cuda", evals=4, cache_dir=str(tmp_path), **kw)


@needs_cuda
def test_a_staged_run_on_cuda_uses_bf16_channels_last_and_compile(digits, tmp_path):
    s = build_schedule(PARAMS, digits, device="cuda")
    trainer = Trainer(s, digits, config(tmp_path))
    assert trainer.precision == "bf16" and trainer.compiled and trainer.augmenter.channels_last
    records = list(trainer.run())
    assert sorted({r["image_size"] for r in records}) == [14, 28] and records[-1]["status"] == "completed"
    assert records[-1]["val_acc"] > 0.5 and trainer.eval_batch == 4096
    assert torch.backends.cudnn.benchmark and torch.backends.cuda.matmul.allow_tf32


@needs_cuda
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


class SyncGuard:
    """Sync debug mode "error" over a trainer's own training steps as `Trainer.run` takes them, so
    a host sync anywhere in a step raises; "default" where waiting is the design: stage set-up,
    each stage's first step (cuDNN's algorithm search, lazy initialisation) and each record (its
    one read of the losses, its clock sync, the evaluation). `set_mode` is
    torch.cuda.set_sync_debug_mode, or anything taking the mode's name."""

    def __init__(self, trainer: Trainer, set_mode) -> None:
        self.set_mode, self.mode = set_mode, "default"
        self.guarded_steps = 0  # optimizer steps that ran from start to end under "error"
        self.modes_at_record: list[str] = []  # the mode training was in when each record began
        enter, take = trainer.enter_stage, trainer._take_record

        def entering(k: int) -> None:
            self._set("default")  # until the stage's first step is done
            enter(k)

        def taking(*args):
            self.modes_at_record.append(self.mode)
            self._set("default")
            try:
                return take(*args)
            finally:
                self._set("error")

        trainer.enter_stage, trainer._take_record = entering, taking
        trainer.optimizer.register_step_post_hook(self._stepped)

    def _set(self, mode: str) -> None:
        self.mode = mode
        self.set_mode(mode)

    def _stepped(self, optimizer, args, kwargs) -> None:
        if self.mode == "error":
            self.guarded_steps += 1
        else:
            self._set("error")  # the stage's first step is done: every later one is guarded


def test_the_sync_guard_covers_every_step_but_each_stages_first(digits, tmp_path):
    s = build_schedule(PARAMS, digits)  # two stages (16 and 28 px), on the CPU
    trainer = Trainer(s, digits, RunConfig(device="cpu", evals=4, cache_dir=str(tmp_path)))
    modes = []
    guard = SyncGuard(trainer, modes.append)
    records = list(trainer.run())
    assert records[-1]["status"] == "completed" and len(s.stages) == 2
    assert guard.guarded_steps == trainer.total_steps - len(s.stages)
    assert guard.modes_at_record == ["error"] * len(records)  # training was guarded up to every record
    assert modes[0] == "default" and modes.count("default") == len(s.stages) + len(records)


@needs_cuda
def test_training_steps_never_wait_for_the_device(digits, tmp_path):
    s = build_schedule({**PARAMS, "hypothesis": "baseline"}, digits, device="cuda")
    trainer = Trainer(s, digits, config(tmp_path, compile="off"))
    guard = SyncGuard(trainer, torch.cuda.set_sync_debug_mode)
    try:
        records = list(trainer.run())  # a host sync in a step raises here
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert records[-1]["status"] == "completed"
    assert guard.guarded_steps == trainer.total_steps - 1 >= 5  # all but the first step, guarded
