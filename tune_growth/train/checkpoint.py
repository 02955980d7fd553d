"""A trainer's full state between records, as one dict of tensors and plain values (what
`torch.save(..., weights_only=True)` accepts): model, optimizer, counters, the data generator
and index stream, the global RNGs (dropout: the CPU's, and on CUDA the device's), the host
generator of a CUDA run (mixup's weights), and the LRs fixed so far. Restored into a fresh Trainer
built with the same schedule, it continues exactly like the uninterrupted run on the CPU (on CUDA
within the nondeterminism of its kernels)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import torch

from tune_growth.train.counters import Counters

if TYPE_CHECKING:
    from tune_growth.train.trainer import Trainer


def capture(trainer: Trainer) -> dict:
    """The trainer's state, to checkpoint between records."""
    return {"model": trainer.model.state_dict(), "optimizer": trainer.optimizer.state_dict(),
            "generator": trainer.generator.get_state(), "counters": trainer.counters.to_dict(),
            **trainer.lr.state_dict(),
            "torch_rng": torch.get_rng_state(),  # dropout in fastai heads draws from the global RNG
            **_device_rngs(trainer),
            "stream": None if trainer.stream is None else trainer.stream.state_dict(),
            "schedule": trainer.schedule.to_json(), "config": asdict(trainer.config)}


def _device_rngs(trainer: Trainer) -> dict:
    """A CUDA run's other random states: the device's global RNG (dropout on the GPU) and the host
    generator (on the CPU that is the run's generator, already saved)."""
    if trainer.device.type != "cuda":
        return {}
    return {"cuda_rng": torch.cuda.get_rng_state(trainer.device), "host_generator": trainer.host_generator.get_state()}


def restore(trainer: Trainer, state: dict) -> None:
    """Load `state` into a fresh trainer; a checkpoint of another schedule is refused. Checkpoints
    written before a field existed (eval_seconds, stage LRs, the RNG) load with its default."""
    if state["schedule"] != trainer.schedule.to_json():
        raise ValueError("checkpoint was written for a different schedule; expected the same schedule JSON")
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.generator.set_state(state["generator"])
    trainer.counters = Counters.from_dict(state["counters"])
    trainer.lr.load_state_dict(state)
    if "torch_rng" in state:
        torch.set_rng_state(state["torch_rng"])
    if trainer.device.type == "cuda" and "cuda_rng" in state:
        torch.cuda.set_rng_state(state["cuda_rng"], trainer.device)
        trainer.host_generator.set_state(state["host_generator"])
    trainer.stream = None
    if state["stream"] is not None:  # mid-stage: set the stage up again, then resume its stream
        trainer.enter_stage(trainer.counters.stage)
        trainer.stream.load_state_dict(state["stream"])
