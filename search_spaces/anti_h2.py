"""Control: the anti-curriculum of H2, the most similar classes first. H2's space, budget and
trials; only the class order differs."""

from tune_growth.search.spaces._common import BUDGET_EPOCHS, DATASET, METRIC, MODE, MODEL, NUM_TRIALS  # noqa: F401
from tune_growth.search.spaces.h2 import PHASE_START, space  # noqa: F401

FIXED = {"hypothesis": "anti_h2", "crop_pad": 2}
