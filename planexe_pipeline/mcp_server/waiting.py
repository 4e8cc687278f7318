"""What a plan_wait waits for: the end of a plan costs an agent one call a timeout, not one a task."""

from __future__ import annotations

from planexe_pipeline.errors import InputError
from planexe_pipeline.mcp_server.safety import shown
from planexe_pipeline.mcp_server.views import FINAL_STATES


class WaitFor:
    """What a plan_wait waits for, checked once when it is asked: `until` a change, the end or a
    state, a change no sooner than `min_interval_s`, and no longer than `timeout_s`."""

    TARGETS = ("change", "end", "running", *FINAL_STATES)

    def __init__(self, until: str, min_interval_s: float, timeout_s: float, max_wait_s: float):
        if until not in self.TARGETS:
            raise InputError(f"until must be one of {', '.join(self.TARGETS)}, got {shown(until)}")
        for name, value in (("timeout_s", timeout_s), ("min_interval_s", min_interval_s)):
            if isinstance(value, bool) or not 0 <= value <= max_wait_s:
                raise InputError(f"{name} must be from 0 to {max_wait_s:g} seconds, got {value}")
        self.until, self.min_interval_s, self.timeout_s = until, min_interval_s, timeout_s

    def reached(self, status: dict, token: str) -> bool:
        if self.until == "change":
            return status["change"] != token
        if self.until == "end":
            return status["state"] in FINAL_STATES
        return status["state"] == self.until

    def over(self, status: dict, token: str, waited_s: float) -> bool:
        """A plan that ended will not change again, whatever was asked for."""
        if status["state"] in FINAL_STATES or waited_s >= self.timeout_s:
            return True
        if self.until == "change":
            return self.reached(status, token) and waited_s >= self.min_interval_s
        return self.reached(status, token)
