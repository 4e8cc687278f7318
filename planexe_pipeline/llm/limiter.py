"""One adaptive limit per provider endpoint, shared by every process and host of a run.

Luigi's `[resources] llm` caps the calls in flight; below it the provider decides. The limit of
an endpoint (class + address + model, never the key) lives in
`RUN_DIR/telemetry/provider_limits/`, so
every worker process of the run, and every host sharing the run folder, sees one limit:

- it starts at the cap (`max_concurrency` of the model entry, else the run's LLM slots), and
  is kept (in the state file, leases and all) only once it has something to do: a stated
  budget, or a first rate-limit answer;
- a rate-limit answer halves it, once per window: only an answer to a call sent under the
  current limit lowers it again, so one burst of refusals counts once. It halves what was in
  flight when the refused call went out, not a cap that was never used;
- a window of clean answers (as many as the limit, each while the limit was in full use)
  adds one, up to the level that was last refused; going past that level is tried only every few windows, so the limit settles
  below the provider's capacity instead of cycling through refusals; a refused try goes back
  to the level below it, not to half, and the next try waits twice as many windows;
- while the provider asked to wait nobody sends, then the waiting calls go out in priority
  order as the limit admits them, each after its own jitter (no thundering herd);
- `requests_per_minute` is paced evenly, `tokens_per_minute` by a sliding minute of the
  estimated tokens sent, so a stated budget is never exceeded;
- a quota that cannot clear within the patience is recorded, and every call to that endpoint
  fails at once (the executor moves to the next model) until it resets.

Leases expire, and a dead process's lease is dropped at once on its own host, so a killed
worker never holds a slot.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from planexe_pipeline.errors import ConfigError
from planexe_pipeline.llm.rate_limits import format_moment
from planexe_pipeline.llm.shared_state import changed_since, holder, locked_json, prune
from planexe_pipeline.telemetry.event_log import append_event, telemetry_dir
from planexe_pipeline.telemetry.events import ProviderEvent, ProviderLimitEvent, ProviderQuotaEvent, ProviderWaitEvent

# Beside the telemetry lines: run-time state of the run, never part of the plan's files.
LIMITS_DIR = "provider_limits"
# A lease outlives any sane call; it only matters for a process killed on another host.
LEASE_S = 900.0
# A waiter refreshes itself at least this often; one not seen for WAITER_STALE_S has gone.
POLL_MAX_S = 0.5
WAITER_STALE_S = 5.0
# Windows of clean answers at the last refused level before trying one more; each probe refused
# doubles the wait for the next, up to the most.
PROBE_WINDOWS = 4
MAX_PROBE_WINDOWS = 32
# Pace a little under a stated budget: requests reach the provider with some jitter (process
# scheduling, the network), and a sliding window does not forgive a request that arrives early.
PACE_MARGIN = 1.02
PACE_SLACK_S = 0.05
BLOCKED = "provider asked to wait"
LIMIT = "adaptive limit"
# A waiter rewrites its "seen" mark this seldom (each rewrite wakes the other waiters).
WAITER_REFRESH_S = 1.0
LIMIT_KEYS = ("max_concurrency", "requests_per_minute", "tokens_per_minute")


@dataclass(frozen=True)
class ProviderLimits:
    """What a model entry states about its provider (none of it is required)."""

    max_concurrency: int | None = None
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    minute_s: float = 60.0  # a real minute; the simulator's may be scaled for tests
    # false: rate-limit answers no longer lower or pause the shared limit (each call waits
    # alone, as a run without the limiter would); stated budgets are still paced.
    adaptive: bool = True

    @classmethod
    def from_spec(cls, spec: dict[str, Any], *, name: str, source: str, minute_s: float = 60.0) -> "ProviderLimits":
        values: dict[str, Any] = {}
        for key in LIMIT_KEYS:
            value = spec.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 \
                    or (key == "max_concurrency" and int(value) != value):
                raise ConfigError(f"model '{name}' in {source}: \"{key}\" must be a positive "
                                  f"{'whole ' if key == 'max_concurrency' else ''}number, got {value!r}")
            values[key] = int(value) if key == "max_concurrency" else float(value)
        adaptive = spec.get("adaptive_limit", True)
        if not isinstance(adaptive, bool):
            raise ConfigError(f"model '{name}' in {source}: \"adaptive_limit\" must be true or false, got {adaptive!r}")
        return cls(**values, minute_s=minute_s, adaptive=adaptive)

    @property
    def stated(self) -> bool:
        return bool(self.max_concurrency or self.requests_per_minute or self.tokens_per_minute)

    def describe(self) -> str:
        parts = [f"{self.max_concurrency} in flight" if self.max_concurrency else "",
                 f"{self.requests_per_minute:g} requests/min" if self.requests_per_minute else "",
                 f"{self.tokens_per_minute:g} tokens/min" if self.tokens_per_minute else ""]
        return ", ".join(p for p in parts if p) or "no stated limits"


def endpoint_key(*, class_name: str, api_base: str, model: str) -> str:
    """A file name for one provider endpoint: readable, and unique by a digest of the address."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{class_name}-{model}")[:60]
    digest = hashlib.sha256(f"{class_name}\n{api_base}\n{model}".encode("utf-8")).hexdigest()[:10]
    return f"{readable}-{digest}"


class ProviderQuotaExhausted(Exception):
    """The provider's budget for this endpoint will not reset within the patience."""

    def __init__(self, model: str, reset_at: float | None, source: str):
        when = f"until {format_moment(reset_at)}" if reset_at else "with no reset in sight (no credit left)"
        said = f" ({source})" if source else ""
        super().__init__(f"model '{model}' is out of quota {when}{said}")
        self.model, self.reset_at = model, reset_at


class PatienceExhausted(Exception):
    """Waiting for the provider would take longer than the patience left for this call."""


@dataclass
class Lease:
    key: str
    epoch: int
    in_flight: int  # calls in flight when this one was admitted, itself included
    waited_s: float
    blocked_s: float  # of which the provider asked us to wait (what the patience counts)


class SharedLimiter:
    """The limit of one endpoint, read and changed under a lock by every caller of the run."""

    def __init__(self, run_dir: str | Path, *, endpoint: str, model: str, cap: int,
                 limits: ProviderLimits = ProviderLimits(), clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 poll_s: float = 0.01):
        self.run_dir = Path(run_dir)
        self.path = telemetry_dir(self.run_dir) / LIMITS_DIR / f"{endpoint}.json"
        self.endpoint, self.model = endpoint, model
        self.limits = limits
        self.cap = max(1, min(cap, limits.max_concurrency or cap))
        self._clock, self._sleep = clock, sleep
        self._rng = rng or random.Random()
        self.poll_s = poll_s

    # -- the state ------------------------------------------------------------------------------
    def _fresh(self, st: dict[str, Any], now: float) -> dict[str, Any]:
        if st.get("cap") is None:
            st.update(cap=self.cap, limit=self.cap, epoch=0, clean=0, ceiling=None, probe=0, probed_from=None,
                      probe_every=PROBE_WINDOWS, leases={},
                      waiters={}, blocked_until=0.0, next_request_at=0.0, sent_tokens=[], quota=None)
            self._event(ProviderLimitEvent, now, limit=self.cap, previous=None, reason="start")
        st["leases"] = prune(st.get("leases", {}), now)
        st["waiters"] = {k: w for k, w in prune(st.get("waiters", {}), now).items()
                         if now - w.get("seen", 0) <= WAITER_STALE_S}
        minute = self.limits.minute_s
        st["sent_tokens"] = [(t, n) for t, n in st.get("sent_tokens", []) if t > now - minute]
        return st

    def snapshot(self) -> dict[str, Any]:
        with locked_json(self.path) as st:
            return dict(self._fresh(st, self._clock()))

    # -- admission ------------------------------------------------------------------------------
    def acquire(self, *, priority: int = 0, tokens: int = 0, deadline: float = math.inf,
                stage: str = "unknown", item: int | None = None) -> Lease:
        """Wait until the provider may be sent one more call; a lease to release after it."""
        if not self.limits.stated and not self.path.exists():
            # Nothing to keep yet: no stated budget and no rate-limit answer so far, so Luigi's
            # slots are the limit. One stat a call instead of two locked rewrites of the state.
            return Lease("", -1, 0, 0.0, 0.0)
        me, started = uuid.uuid4().hex, self._clock()
        reasons: dict[str, float] = {}
        seen: list[int] = []
        try:
            while True:
                now = self._clock()
                with locked_json(self.path, seen) as st:
                    st = self._fresh(st, now)
                    quota = st.get("quota")
                    if quota and (quota.get("until") is None or quota["until"] > now):
                        raise ProviderQuotaExhausted(self.model, quota.get("until"), quota.get("source", ""))
                    waiter = st["waiters"].setdefault(me, {**holder(), "priority": priority, "since": now,
                                                           "expires": now + LEASE_S, "seen": now})
                    if now - waiter["seen"] > WAITER_REFRESH_S:  # seldom: every write wakes every waiter
                        waiter["seen"] = now
                    wait, reason = self._admission_wait(st, me, tokens, now)
                    if wait <= 0:
                        del st["waiters"][me]
                        st["leases"][me] = {**holder(), "epoch": st["epoch"], "expires": now + LEASE_S,
                                            "in_flight": len(st["leases"]) + 1}
                        self._charge(st, tokens, now)
                        lease = Lease(me, st["epoch"], len(st["leases"]), now - started,
                                      reasons.get(BLOCKED, 0.0))
                        break
                    if reason == BLOCKED and now + wait > deadline:
                        raise PatienceExhausted(f"the provider asked to wait until {format_moment(now + wait)}, "
                                                "beyond the patience left for this call")
                if reason == LIMIT:
                    nap = self._await_change(seen)
                else:
                    nap = min(wait, POLL_MAX_S)
                    self._sleep(nap)
                reasons[reason] = reasons.get(reason, 0.0) + nap
        except BaseException:
            self._leave(me)
            raise
        if reasons:
            self._event(ProviderWaitEvent, started, end=started + lease.waited_s, task_family=stage, item=item,
                        duration_s=round(lease.waited_s, 6), reason=max(reasons, key=reasons.get) if reasons else "lock")
        return lease

    def _admission_wait(self, st: dict[str, Any], me: str, tokens: int, now: float) -> tuple[float, str]:
        if st["blocked_until"] > now:
            # Everyone wakes at the end of the wait, each after its own jitter.
            span = st["blocked_until"] - st.get("blocked_from", now)
            return st["blocked_until"] - now + self._rng.uniform(0, min(2.0, max(self.poll_s, 0.25 * span))), BLOCKED
        free = st["limit"] - len(st["leases"])
        queue = sorted(st["waiters"], key=lambda k: (-st["waiters"][k]["priority"], st["waiters"][k]["since"], k))
        if queue.index(me) >= free:
            return POLL_MAX_S, LIMIT
        if self.limits.requests_per_minute and st["next_request_at"] > now:
            return st["next_request_at"] - now, "requests per minute"
        budget = self.limits.tokens_per_minute
        if budget and st["sent_tokens"] and sum(n for _, n in st["sent_tokens"]) + tokens > budget / PACE_MARGIN:
            return max(self.poll_s, st["sent_tokens"][0][0] + self.limits.minute_s - now), "tokens per minute"
        return 0.0, ""

    def _charge(self, st: dict[str, Any], tokens: int, now: float) -> None:
        if self.limits.requests_per_minute:
            interval = self.limits.minute_s / self.limits.requests_per_minute * PACE_MARGIN + PACE_SLACK_S
            st["next_request_at"] = max(now, st["next_request_at"]) + interval
        if self.limits.tokens_per_minute:
            st["sent_tokens"].append((now, tokens))

    def _await_change(self, seen: list[int]) -> float:
        """Nap until another caller changes the state (a release frees a place) or POLL_MAX_S
        passes; looking at the file's mtime costs a stat, not a lock and a parse."""
        waited = 0.0
        while waited < POLL_MAX_S:
            nap = self.poll_s * self._rng.uniform(0.5, 1.5)
            self._sleep(nap)
            waited += nap
            if changed_since(self.path, seen):
                break
        return waited

    def _leave(self, me: str) -> None:
        with locked_json(self.path) as st:
            st.get("waiters", {}).pop(me, None)

    # -- what the answer said -------------------------------------------------------------------
    def release(self, lease: Lease, *, rate_limited: bool = False, come_back_at: float | None = None,
                clean: bool = True) -> None:
        """The call is over: a rate-limit answer lowers the limit, a clean one may raise it."""
        now = self._clock()
        if not lease.key:
            if rate_limited and self.limits.adaptive:
                self._engage(come_back_at, now)
            return
        with locked_json(self.path) as st:
            st = self._fresh(st, now)
            # A refusal comes back at once, so the provider refused with about as many in flight as
            # hold a lease now. The count at admission alone misleads: calls admitted just after
            # this one often reach the provider first, and the refused call was admitted with 1 or 2
            # in flight where the provider saw 5; halving that took the limit to 1.
            in_flight = max(lease.in_flight, len(st["leases"]))
            st["leases"].pop(lease.key, None)
            if rate_limited and not self.limits.adaptive:
                return
            if rate_limited:
                if come_back_at and come_back_at > st["blocked_until"]:
                    st["blocked_from"], st["blocked_until"] = now, come_back_at
                if lease.epoch == st["epoch"]:
                    self._decrease(st, in_flight, now)
            elif clean and lease.epoch == st["epoch"]:  # answers to calls sent before a decrease tell nothing
                self._clean_answer(st, now)

    def _engage(self, come_back_at: float | None, now: float) -> None:
        """The first rate-limit answer of an endpoint without a kept limit: from now on every
        call goes through the shared state. What was in flight is unknown, so the cap halves."""
        with locked_json(self.path) as st:
            fresh = st.get("cap") is None
            st = self._fresh(st, now)
            if come_back_at and come_back_at > st["blocked_until"]:
                st["blocked_from"], st["blocked_until"] = now, come_back_at
            if fresh:
                self._decrease(st, st["cap"], now)

    def _decrease(self, st: dict[str, Any], in_flight: int, now: float) -> None:
        previous = st["limit"]
        if st.get("probed_from") is not None:
            # A probe one past the last clean level was refused: the provider's capacity is where
            # it was. Back to that level, not half of it (halving cost a second of ramp a probe,
            # 18% of a plan against a provider admitting 4), and probe half as often.
            st["ceiling"], st["limit"] = previous, st["probed_from"]
            st["probe_every"] = min(2 * st.get("probe_every", PROBE_WINDOWS), MAX_PROBE_WINDOWS)
        else:
            st["ceiling"] = in_flight
            st["limit"] = max(1, min(previous, in_flight) // 2)
        st["probed_from"] = None
        st["epoch"] += 1
        st["clean"] = st["probe"] = 0
        self._event(ProviderLimitEvent, now, limit=st["limit"], previous=previous, reason="rate limited")

    def _clean_answer(self, st: dict[str, Any], now: float) -> None:
        # Only an answer while calls queue for the limit (or fill it) says the limit could be
        # higher; a limit nobody needed proves nothing about the provider.
        if len(st["leases"]) + 1 + len(st["waiters"]) < st["limit"]:
            return
        st["clean"] += 1
        if st["clean"] < st["limit"]:
            return
        st["clean"] = 0
        if st["ceiling"] is not None and st["limit"] >= st["ceiling"]:
            # A clean window at the refused level: that refusal was a passing one.
            st["ceiling"] = st["probed_from"] = None
            st["probe_every"] = PROBE_WINDOWS
        if st["limit"] >= st["cap"]:
            return
        probing = st["ceiling"] is not None and st["limit"] + 1 >= st["ceiling"]
        if probing:
            st["probe"] += 1
            if st["probe"] < st.get("probe_every", PROBE_WINDOWS):
                return
            st["probe"] = 0
        st["probed_from"] = st["limit"] if probing else None
        previous, st["limit"] = st["limit"], st["limit"] + 1
        self._event(ProviderLimitEvent, now, limit=st["limit"], previous=previous, reason="clean window")

    def record_quota(self, reset_at: float | None, source: str) -> ProviderQuotaExhausted:
        """Every later call to this endpoint fails at once until the reset; the error to raise
        names the moment first recorded, so every task of the run says the same words."""
        now = self._clock()
        with locked_json(self.path) as st:
            st = self._fresh(st, now)
            known = st.get("quota")
            if not (known and (known.get("until") is None or known["until"] > now)):
                known = st["quota"] = {"until": reset_at, "source": source}
                self._event(ProviderQuotaEvent, now, reset_at=reset_at, source=source)
        return ProviderQuotaExhausted(self.model, known.get("until"), known.get("source", ""))

    def _event(self, kind: type[ProviderEvent], start: float, end: float | None = None, **fields: Any) -> None:
        append_event(self.run_dir, kind(endpoint=self.endpoint, model=self.model, cap=self.cap, start=start,
                                        end=end if end is not None else start, **fields))
