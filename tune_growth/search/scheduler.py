"""ASHA that compares staged schedules fairly: on compute, and only at the same phase.

A curriculum's early accuracy is low by design (two classes of ten, a tenth of the examples, tiny
images), so plain ASHA stops it before it blooms. Three things here prevent that:

1. The time axis is compute, `budget_used` (examples x pixels over the one-stage baseline's at the
   same budget), not training iterations: stages differ enormously in cost.
2. The first rung (grace period) is the space's PHASE_START, the budget fraction by which every
   schedule the space can produce has ended its early stages.
3. A trial is judged at a rung only once it has spent at least `settle` of its budget on the full
   problem (its final stage); until then its results pass without a rung decision, and its first
   result after that is judged against the rung. Entering the final stage right before a rung
   therefore does not count against it.

This errs toward keeping late bloomers a little longer than strictly needed: that costs compute,
never the answer, because Optuna's objective is the final accuracy of schedules that ran to the end.
"""

from __future__ import annotations

from ray.tune.schedulers import ASHAScheduler, TrialScheduler

SETTLE = 0.15  # fraction of the budget a trial must have spent on the full problem before a rung judges it


class PhaseAlignedASHA(ASHAScheduler):
    def __init__(self, *args, settle: float = SETTLE, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not 0.0 <= settle < 1.0:
            raise ValueError(f"settle={settle!r} is invalid; expected a budget fraction in [0, 1)")
        self.settle = settle

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        if not result.get("finished") and result.get("full_problem_share", 1.0) < self.settle:
            return TrialScheduler.CONTINUE  # not yet at the same phase as its rivals: no rung decision
        return super().on_trial_result(tune_controller, trial, result)
