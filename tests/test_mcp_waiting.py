"""What a plan_wait waits for (mcp_server/waiting.py): the rules, without a server or a plan.
The call counts they give a real plan are measured through the SDK's client in test_mcp_server.py."""

from __future__ import annotations

import pytest

from planexe_pipeline.errors import InputError
from planexe_pipeline.mcp_server.waiting import WaitFor

TOKEN = "running:10:8:0"


def status(state: str, change: str = TOKEN) -> dict:
    return {"state": state, "change": change}


def test_a_change_returns_the_wait_only_after_the_interval():
    wait = WaitFor("change", min_interval_s=5, timeout_s=60, max_wait_s=300)
    moved = status("running", "running:11:9:0")
    assert not wait.over(status("running"), TOKEN, waited_s=1)
    assert not wait.over(moved, TOKEN, waited_s=1)  # moved, but sooner than the interval
    assert wait.over(moved, TOKEN, waited_s=5) and wait.reached(moved, TOKEN)


def test_waiting_for_the_end_ignores_progress_and_stops_at_any_end():
    wait = WaitFor("done", min_interval_s=0, timeout_s=60, max_wait_s=300)
    assert not wait.over(status("running", "running:90:70:0"), TOKEN, waited_s=30)
    failed = status("failed", "failed:50:40:0")
    assert wait.over(failed, TOKEN, waited_s=30) and not wait.reached(failed, TOKEN)  # it will never be done
    assert WaitFor("end", 0, 60, 300).reached(failed, TOKEN)
    assert WaitFor("running", 0, 60, 300).over(status("running"), "queued:0:0:1", waited_s=0)


def test_the_timeout_ends_every_wait():
    assert WaitFor("end", 0, timeout_s=10, max_wait_s=300).over(status("running"), TOKEN, waited_s=10)


@pytest.mark.parametrize("until, interval, timeout, said", [
    ("forever", 0, 60, "until must be one of change, end, running, done, failed, stopped"),
    ("change", -1, 60, "min_interval_s must be from 0 to 300"),
    ("end", 0, 1e9, "timeout_s must be from 0 to 300"),
    ("end", True, 60, "min_interval_s must be from 0"),
])
def test_a_wait_that_cannot_be_met_is_refused_in_one_line(until, interval, timeout, said):
    with pytest.raises(InputError, match=said):
        WaitFor(until, min_interval_s=interval, timeout_s=timeout, max_wait_s=300)
