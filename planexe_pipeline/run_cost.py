"""What a run says about money: its projected cost when it starts, and its one line when it stops
at its budget."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable

from planexe_pipeline import defaults
from planexe_pipeline.llm.spend import spent_usd
from planexe_pipeline.routes import project
from planexe_pipeline.run_request import RunRequest
from planexe_pipeline.status import StatusTracker
from planexe_pipeline.tasks.expected_work import walked_expectation
from planexe_pipeline.telemetry.run_state import read_run_state


def cost_line(request: RunRequest, *, redo: Iterable[tuple[str, int | None]] = ()) -> str | None:
    """The run's projected cost, on the models its calls go to; None when one of them has no price.
    Tasks done before count as done, but those a revision redoes (`redo`: their keys)."""
    work = walked_expectation(str(request.run_dir))
    done = Counter(family for family, _ in _done_keys(request.run_dir) - set(redo))
    calls = Counter({stage.family: stage.tasks - min(done[stage.family], stage.tasks)
                     for stage in work.stages if stage.llm and stage.tasks > done[stage.family]})
    settings = request.settings
    config = {entry.name: entry for entry in settings.entries}
    projection = project(dict(calls), settings.routes, list(settings.models), config)
    if projection.usd is None:
        return None
    spent = spent_usd(request.run_dir)
    text = (f"Projected cost: about ${projection.usd:.4f} for {projection.calls} LLM calls at list prices "
            f"({defaults.STANDARD_CALL_INPUT_TOKENS} input tokens, {defaults.STANDARD_CACHED_SHARE:.0%} of them "
            f"cached, and {defaults.STANDARD_CALL_OUTPUT_TOKENS} output tokens a call, as the standard workload's)")
    if spent:
        text += f", after ${spent:.4f} spent"
    if request.budget_usd is not None:
        text += f"; budget ${request.budget_usd:.4f}"
    return text


def _done_keys(run_dir: Path) -> set[tuple[str, int | None]]:
    try:
        return read_run_state(run_dir).done_keys
    except ValueError:  # a new folder: nothing has run
        return set()


def budget_line(run_dir: Path, budget_usd: float) -> str:
    """One line for a run stopped by its budget: spent, left, and what remains to do."""
    spent = spent_usd(run_dir)
    snapshot = StatusTracker(run_dir, expect=walked_expectation).snapshot()
    calls = snapshot["llm_calls"]
    left_calls = max(0, calls["expected"] - calls["done"])
    projected = snapshot.get("cost_projected_usd")
    more = f" (about ${projected - spent:.4f} more at this plan's cost per call so far)" if projected else ""
    return (f"budget reached: ${spent:.4f} spent of ${budget_usd:.4f}, ${max(0.0, budget_usd - spent):.4f} left, "
            f"not enough for the next LLM call; {left_calls} LLM calls remain{more}: everything finished is "
            f"kept; run again with a higher --budget to finish")
