"""Where the loop is and what it has summed since the last record. A checkpoint saves the
counters as a plain dict (`state_dict`), so checkpoints stay readable without this class."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class Counters:
    stage: int = 0  # the stage being trained; len(stages) once the schedule is done
    stage_step: int = 0  # optimizer steps into that stage
    step: int = 0  # optimizer steps in all
    examples: int = 0  # training examples drawn (steps x batch size)
    compute: int = 0  # examples x pixels per image (image_size ** 2), summed over steps
    next_eval: int = 1  # the next evaluation is due at next_eval x the budget between evaluations (spent())
    loss_sum: float = 0.0  # training losses summed since the last record
    loss_count: int = 0  # ... and how many
    wall: float = 0.0  # seconds of training (steps, batches, stage set-up), evaluation excluded
    eval_seconds: float = 0.0  # seconds outside training: evaluation, checkpoints, reports
    status: str = "running"  # running, completed or diverged

    def add_step(self, batch_size: int, image_size: int) -> None:
        """Count one optimizer step of `batch_size` images of `image_size` px; its loss is summed
        on the device (the trainer sets `loss_sum` at each record, so no step waits for it)."""
        self.step += 1
        self.stage_step += 1
        self.examples += batch_size
        self.compute += batch_size * image_size ** 2
        self.loss_count += 1

    def next_stage(self) -> None:
        self.stage, self.stage_step = self.stage + 1, 0

    def spent(self, unit: str = "epochs") -> int:
        """The budget spent so far in `unit`'s terms (schedule.core.BUDGET_UNITS): examples drawn
        (epochs), or examples x pixels (compute)."""
        return self.compute if unit == "compute" else self.examples

    def eval_due(self, every: float, unit: str = "epochs") -> bool:
        """Whether an evaluation is due, `every` being the budget between evaluations in `unit`'s
        terms (spent()); when one is, the next is moved past what is spent so far."""
        spent = self.spent(unit)
        due = spent >= self.next_eval * every
        while spent >= self.next_eval * every:
            self.next_eval += 1
        return due

    def take_train_loss(self) -> float:
        """The mean training loss since the last record; the sums start again."""
        mean = self.loss_sum / max(1, self.loss_count)
        self.loss_sum, self.loss_count = 0.0, 0
        return mean

    def to_dict(self) -> dict:
        """The counters as a plain dict of their fields."""
        return asdict(self)

    def state_dict(self) -> dict:
        """The counters as a checkpoint stores them (checkpoint.py): `to_dict`."""
        return self.to_dict()

    def load_state_dict(self, state: dict) -> None:
        """Set every counter from a checkpoint's dict, in place; fields it predates keep their defaults."""
        loaded = Counters.from_dict(state)
        for f in fields(self):
            setattr(self, f.name, getattr(loaded, f.name))

    @classmethod
    def from_dict(cls, state: dict) -> "Counters":
        """Counters from a checkpoint; fields it predates (eval_seconds) keep their defaults."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in state.items() if k in names})
