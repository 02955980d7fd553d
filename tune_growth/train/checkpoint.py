"""A trainer's full state between records, typed (TrainState), composed from the parts that own
it: the model's and the optimizer's state dicts, the counters (counters.Counters), the LRs fixed so
far (stage_lr.StageLR), the current stage's index stream (data.augment.IndexStream), the data
generator, the global RNGs (dropout: the CPU's, and on CUDA the device's) and the host generator
of a CUDA run (mixup's weights). On disk it is one flat dict of tensors and plain values (what
`torch.save(..., weights_only=True)` accepts), the same keys checkpoints have always had, so older
ones still load. Restored into a fresh Trainer built with the same schedule, it continues exactly
like the uninterrupted run on the CPU (on CUDA within the nondeterminism of its kernels).

This module knows the parts, never the trainer: the trainer calls `capture` and `restore`, and
sets its stage up again itself after a restore (a mid-stage checkpoint carries a stream state)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tune_growth.train.counters import Counters
from tune_growth.train.stage_lr import LR_STATE_KEYS, StageLR


@dataclass(frozen=True)
class Parts:
    """The live objects a checkpoint reads and writes, all owned by one trainer."""

    device: torch.device
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    generator: torch.Generator  # the run's data generator (on the run's device)
    host_generator: torch.Generator  # mixup's weights; on the CPU the run's generator itself
    counters: Counters
    lr: StageLR


@dataclass(frozen=True)
class TrainState:
    """A trainer's state between records. `to_dict` gives the on-disk form, `from_dict` reads it
    back, checkpoints written before a field existed included (it then holds None, or the part's
    dict lacks the key and the part loads its default)."""

    model: dict  # Module.state_dict(): parameter names without a compile wrapper's prefix
    optimizer: dict  # Optimizer.state_dict()
    generator: torch.Tensor  # the data generator's state
    counters: dict  # Counters.state_dict()
    lr: dict  # StageLR.state_dict()
    stream: dict | None  # IndexStream.state_dict() mid-stage; None at a stage boundary
    schedule: str  # the schedule's JSON: a checkpoint resumes only the schedule it was written for
    config: dict  # asdict(RunConfig), for readers of a checkpoint (not restored)
    torch_rng: torch.Tensor | None = None  # the CPU's global RNG (dropout); None in older checkpoints
    cuda_rng: torch.Tensor | None = None  # a CUDA run's device RNG (dropout on the GPU); else None
    host_generator: torch.Tensor | None = None  # a CUDA run's host generator; else None

    def to_dict(self) -> dict:
        """The on-disk form: one flat dict, its keys in the order checkpoints have always had them."""
        out = {"model": self.model, "optimizer": self.optimizer, "generator": self.generator,
               "counters": self.counters, **self.lr}
        if self.torch_rng is not None:
            out["torch_rng"] = self.torch_rng
        if self.cuda_rng is not None:
            out.update(cuda_rng=self.cuda_rng, host_generator=self.host_generator)
        out.update(stream=self.stream, schedule=self.schedule, config=self.config)
        return out

    @classmethod
    def from_dict(cls, state: dict) -> TrainState:
        """A TrainState from the on-disk form (`to_dict`'s, or an older checkpoint's)."""
        return cls(model=state["model"], optimizer=state["optimizer"], generator=state["generator"],
                   counters=state["counters"], lr={k: state[k] for k in LR_STATE_KEYS if k in state},
                   stream=state["stream"], schedule=state["schedule"], config=state["config"],
                   torch_rng=state.get("torch_rng"), cuda_rng=state.get("cuda_rng"),
                   host_generator=state.get("host_generator"))


def capture(parts: Parts, stream: dict | None, schedule_json: str, config: dict) -> TrainState:
    """The state of `parts`, with the stream's state (None between stages), the schedule's JSON and
    the run's config, to checkpoint between records."""
    cuda = parts.device.type == "cuda"
    return TrainState(model=parts.model.state_dict(), optimizer=parts.optimizer.state_dict(),
                      generator=parts.generator.get_state(), counters=parts.counters.state_dict(),
                      lr=parts.lr.state_dict(), stream=stream, schedule=schedule_json, config=config,
                      torch_rng=torch.get_rng_state(),  # dropout in fastai heads draws from the global RNG
                      cuda_rng=torch.cuda.get_rng_state(parts.device) if cuda else None,
                      host_generator=parts.host_generator.get_state() if cuda else None)


def restore(parts: Parts, state: TrainState, schedule_json: str) -> None:
    """Load `state` into the parts of a fresh trainer; a checkpoint of another schedule is refused.
    The stream is the caller's: it sets the stage up again and loads `state.stream` into it."""
    if state.schedule != schedule_json:
        raise ValueError("checkpoint was written for a different schedule; expected the same schedule JSON")
    parts.model.load_state_dict(state.model)
    parts.optimizer.load_state_dict(state.optimizer)
    parts.generator.set_state(state.generator)
    parts.counters.load_state_dict(state.counters)
    parts.lr.load_state_dict(state.lr)
    if state.torch_rng is not None:
        torch.set_rng_state(state.torch_rng)
    if parts.device.type == "cuda" and state.cuda_rng is not None:
        torch.cuda.set_rng_state(state.cuda_rng, parts.device)
        parts.host_generator.set_state(state.host_generator)
