"""The money a plan has spent, and its budget: a hard stop before a call, never after one.

Every process and host of a run meets the same small state file (llm/shared_state.py, as the
provider limits do): what the plan's priced calls have cost so far, over every run of its folder,
and what the calls in flight may still cost, each at its estimate (its prompt, counted high, and
the whole answer budget it asks for). A call starts only if spent + in flight + its own estimate
stays within the budget; when it ends, its estimate gives way to what it cost.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from planexe_pipeline.errors import PipelineError
from planexe_pipeline.llm.shared_state import holder, locked_json, prune
from planexe_pipeline.telemetry.event_log import telemetry_dir

SPEND_FILE = "spend.json"
HOLD_S = 3600.0  # a hold of a process on another host that never settled frees itself after this


class BudgetReached(PipelineError):
    """The next call would take the plan past its budget: it was not started.

    The same words from every task, so the run stops in one line; the run's closing line says
    what was spent, what is left and what remains to do (runner.py)."""

    exit_code = 1
    kind = "budget"
    stands_for_the_run = True
    recoverable = True

    def __init__(self, budget_usd: float):
        super().__init__(f"budget reached: the next LLM call would take the plan past its budget of "
                         f"${budget_usd:.4f}; run again with a higher --budget to finish")
        self.budget_usd = budget_usd


@dataclass
class Hold:
    """One call's place under the budget: its estimate until it settles with what it cost."""

    key: str | None  # None: nothing is held (no budget)
    cost_usd: float | None = None


def spend_path(run_dir: str | os.PathLike) -> Path:
    return telemetry_dir(run_dir) / SPEND_FILE


def spent_usd(run_dir: str | os.PathLike) -> float:
    """What the plan's priced calls have cost, over every run of its folder."""
    with locked_json(spend_path(run_dir)) as state:
        return float(state.get("spent_usd", 0.0))


class PlanSpend:
    """The spend of one run folder, with the run's budget (None: no budget, only the count)."""

    def __init__(self, run_dir: str | os.PathLike, budget_usd: float | None = None):
        self.path = spend_path(run_dir)
        self.budget_usd = budget_usd

    def hold(self, estimate_usd: float | None) -> Hold:
        """A place for a call of this estimate, or BudgetReached; nothing is held without a budget."""
        if self.budget_usd is None:
            return Hold(None)
        now = time.time()
        with locked_json(self.path) as state:
            held = prune(state.get("held", {}), now)
            spent = float(state.get("spent_usd", 0.0))
            if spent + sum(float(h["usd"]) for h in held.values()) + (estimate_usd or 0.0) > self.budget_usd:
                state["held"] = held
                raise BudgetReached(self.budget_usd)
            key = uuid.uuid4().hex
            held[key] = {**holder(), "usd": estimate_usd or 0.0, "expires": now + HOLD_S}
            state["held"] = held
        return Hold(key)

    def settle(self, hold: Hold) -> None:
        """The call ended: its hold gives way to what it cost (nothing when no answer came back)."""
        if hold.key is None and not hold.cost_usd:
            return
        with locked_json(self.path) as state:
            if hold.key is not None:
                state.setdefault("held", {}).pop(hold.key, None)
            if hold.cost_usd:
                state["spent_usd"] = float(state.get("spent_usd", 0.0)) + hold.cost_usd
