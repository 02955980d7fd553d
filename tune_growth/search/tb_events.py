"""TensorBoard event files for a search: per trial, the scalars of every record against examples
seen, under <experiment>/tensorboard/<trial id>/, so `tensorboard --logdir <experiment>/tensorboard`
compares trials on one axis (examples, the budget's unit) across stages.

It takes the place of Ray Tune's own TBXLoggerCallback (a subclass, so Tune does not add its own):
that one writes every reported number against Tune's iteration counter into each trial's folder,
where a stage boundary and an evaluation look the same. Scalars: val/test loss and accuracy (test
at the final record), the seen-class accuracies, train loss, LR, image size (px), stage, classes
seen, budget used, training seconds.
"""

from __future__ import annotations

from pathlib import Path

from ray.tune.logger import TBXLoggerCallback

# record field -> TensorBoard tag (grouped by prefix in TensorBoard's scalar view)
SCALARS = {"val_acc": "val/acc", "val_loss": "val/loss", "val_acc_seen": "val/acc_seen_classes",
           "test_acc": "test/acc", "test_loss": "test/loss", "test_acc_seen": "test/acc_seen_classes",
           "train_loss": "train/loss", "lr": "schedule/lr", "image_size": "schedule/image_size_px",
           "stage": "schedule/stage", "classes_seen": "schedule/classes_seen", "budget_used": "schedule/budget_used",
           "wall_seconds": "time/training_seconds"}


class ExamplesTensorBoard(TBXLoggerCallback):
    def __init__(self, logdir: Path) -> None:
        super().__init__()  # imports tensorboardX (a dependency of ray[tune])
        self.logdir = Path(logdir)
        self.writers: dict[str, object] = {}

    def __getstate__(self) -> dict:  # Tune pickles its callbacks; open files do not pickle
        return {**self.__dict__, "writers": {}}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def log_trial_start(self, trial) -> None:
        if trial.trial_id not in self.writers:
            from tensorboardX import SummaryWriter

            self.writers[trial.trial_id] = SummaryWriter(str(self.logdir / f"trial_{trial.trial_id}"), flush_secs=10)

    def log_trial_result(self, iteration: int, trial, result: dict) -> None:
        if "examples" not in result:
            return
        self.log_trial_start(trial)
        writer, step = self.writers[trial.trial_id], int(result["examples"])
        for field, tag in SCALARS.items():
            value = result.get(field)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                writer.add_scalar(tag, value, global_step=step)

    def log_trial_end(self, trial, failed: bool = False) -> None:
        writer = self.writers.pop(trial.trial_id, None)
        if writer is not None:
            writer.close()

    def on_experiment_end(self, trials, **info) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers = {}
