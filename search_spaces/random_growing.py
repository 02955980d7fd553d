"""Control: H1's growing stage sizes with examples drawn at random (Wu, Dyer & Neyshabur, "When do
curricula work?", ICLR 2021: this control often matches explicit curricula). H1's space without
the example order, which this control fixes."""

from tune_growth.search.spaces import h1
from tune_growth.search.spaces._common import BUDGET_EPOCHS, DATASET, METRIC, MODE, MODEL, NUM_TRIALS  # noqa: F401

FIXED = {"hypothesis": "random_growing", "crop_pad": 2}
PHASE_START = h1.PHASE_START


def space(trial):
    h1.space(trial, selections=())
