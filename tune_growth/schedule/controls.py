"""Which arms are controls: the one list of control names and the one function that reads it.

A control arm is a reference a hypothesis is judged against, never a hypothesis itself: the
baseline (one stage, all data), the random-order control (a growing schedule whose examples are
random), the random-class-order control (a growing class set joined in a random order), the
budgeted baseline, every anti-curriculum (`anti_<hypothesis>`, the stages of a
hypothesis reversed) and every equal-compute baseline (`baseline_at_<label>`, the baseline given
the compute of a schedule whose small images cost less). In a search the arms are the space's trials, so there only the reference
the searcher injects counts: the baseline at trial number 0. A search of the baseline space
itself tunes baselines; its later trials are the space's points, not controls.
"""

from __future__ import annotations

BASELINE = "baseline"
CONTROLS = (BASELINE, "random_growing", "random_classes", "budgeted")  # and any label starting with ANTI
ANTI = "anti_"  # the prefix of an anti-curriculum's label
AT_COMPUTE = "baseline_at_"  # the prefix of an equal-compute baseline's label


def is_control(label: str, trial_number: int | None = None) -> bool:
    """Whether `label` (a study's arm, a trial's hypothesis) is a control. With `trial_number`
    (a search's trial), only the baseline injected as trial 0 is."""
    if trial_number is not None:
        return trial_number == 0 and label == BASELINE
    return label in CONTROLS or label.startswith((ANTI, AT_COMPUTE))
