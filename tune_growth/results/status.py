"""A trial's status, from its records and what Tune says of it: one rule for the Parquet export
and the search's live progress line.

completed: the schedule ran to the end of the search's budget; screened: it ran to the end of a
smaller one (a budget rung below the top: search/ladder.py), so it is never "the best"; stopped:
cut short by the scheduler; diverged; errored; running.
"""

from __future__ import annotations

ENDED = ("completed", "screened", "stopped", "diverged", "errored")  # a trial that will not report again
STATUSES = (*ENDED, "running")


def screened(budget_epochs: float | None, search_budget_epochs: float | None) -> bool:
    """Whether a run's budget (epochs) is below its search's: a budget rung's miniature. Rungs
    below the top run budget / eta^k epochs and the top rung the whole budget exactly (eta^0 = 1),
    so the comparison is exact. Unknown budgets screen nothing."""
    if budget_epochs is None or search_budget_epochs is None:
        return False
    return float(budget_epochs) < float(search_budget_epochs)


def trial_status(records: list[dict], tune_status: str, errored: bool, is_screening: bool = False) -> str:
    """A trial's status (STATUSES) from its records, Tune's status (RUNNING, TERMINATED, ERROR,
    PENDING, PAUSED), whether it left an error, and whether it ran at a budget below its search's."""
    last = records[-1] if records else {}
    if last.get("status") == "diverged":
        return "diverged"
    if last.get("finished"):
        return "screened" if is_screening else "completed"
    if tune_status == "ERROR" or (errored and tune_status != "RUNNING"):
        return "errored"
    if tune_status in ("RUNNING", "PENDING", "PAUSED"):
        return "running"
    return "stopped"
