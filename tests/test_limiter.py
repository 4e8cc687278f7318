"""The shared provider limit: AIMD on rate-limit answers, a pause everyone honours, pacing to
stated budgets, quotas, priorities, and leases a dead process cannot keep."""

from __future__ import annotations

import multiprocessing
import os
import random
import time

import pytest

from planexe_pipeline.llm.limiter import (
    PROBE_WINDOWS,
    WAITER_STALE_S,
    PatienceExhausted,
    ProviderLimits,
    ProviderQuotaExhausted,
    SharedLimiter,
)
from planexe_pipeline.llm.shared_state import HOST, locked_json
from planexe_pipeline.telemetry.event_log import read_events


class Clock:
    """A fake clock that sleeping advances."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(tmp_path, clock: Clock, cap: int = 8, **limits) -> SharedLimiter:
    """A limiter whose state is kept from the start (as after a first rate-limit answer)."""
    lim = SharedLimiter(tmp_path, endpoint="ep", model="m", cap=cap, limits=ProviderLimits(**limits),
                        clock=clock, sleep=clock.sleep, rng=random.Random(1))
    lim.snapshot()
    return lim


def test_an_endpoint_without_budget_or_refusal_keeps_no_state_until_its_first_429(tmp_path):
    clock = Clock()
    lim = SharedLimiter(tmp_path, endpoint="ep", model="m", cap=8, clock=clock, sleep=clock.sleep)
    leases = [lim.acquire() for _ in range(3)]
    lim.release(leases[0])
    assert not lim.path.exists(), "no shared state while Luigi's slots are the only limit"
    lim.release(leases[1], rate_limited=True, come_back_at=clock.now + 2)
    assert limit_of(lim) == 4, "what was in flight is unknown: the cap halves"
    lim.release(leases[2], rate_limited=True)
    assert limit_of(lim) == 4, "once per window"
    start = clock.now
    lim.acquire()
    assert clock.now - start >= 2.0


def limit_of(lim: SharedLimiter) -> int:
    return lim.snapshot()["limit"]


def test_a_rate_limit_halves_what_was_in_flight_once_per_window_and_pauses_everyone(tmp_path):
    clock = Clock()
    lim = limiter(tmp_path, clock)
    leases = [lim.acquire() for _ in range(6)]
    assert limit_of(lim) == 8
    lim.release(leases[5], rate_limited=True, come_back_at=clock.now + 3)
    assert limit_of(lim) == 3, "half of the 6 in flight, not half of a cap never used"
    lim.release(leases[4], rate_limited=True, come_back_at=clock.now + 3)
    assert limit_of(lim) == 3, "a refusal of a call sent before the decrease does not count again"
    for lease in leases[:4]:
        lim.release(lease)
    start = clock.now
    lim.acquire()
    assert 3.0 <= clock.now - start <= 3.0 + 2.0, "nobody sends before the reset; jitter spreads the return"
    changes = [(e.previous, e.limit, e.reason) for e in read_events(tmp_path, "provider_limit")]
    assert changes == [(None, 8, "start"), (8, 3, "rate limited")]
    waits = read_events(tmp_path, "provider_wait")
    assert waits and waits[-1].reason == "provider asked to wait" and waits[-1].duration_s >= 3.0


def test_clean_windows_add_one_up_to_the_refused_level_then_probe_rarely(tmp_path):
    clock = Clock()
    lim = limiter(tmp_path, clock, cap=16)
    leases = [lim.acquire() for _ in range(5)]
    lim.release(leases[-1], rate_limited=True)  # refused with 5 in flight: limit 2, ceiling 5
    for lease in leases[:-1]:
        lim.release(lease)
    assert limit_of(lim) == 2

    def busy_window():
        """As many clean answers as the limit, each while the limit is in full use."""
        for _ in range(limit_of(lim)):
            held = [lim.acquire() for _ in range(limit_of(lim))]
            lim.release(held[0])
            for lease in held[1:]:
                lim.release(lease, clean=False)

    busy_window()
    busy_window()
    assert limit_of(lim) == 4, "+1 per window up to one below the refused level"
    for _ in range(PROBE_WINDOWS - 1):
        busy_window()
    assert limit_of(lim) == 4, "the refused level is tried again only every few windows"
    busy_window()
    assert limit_of(lim) == 5
    held = [lim.acquire() for _ in range(5)]
    lim.release(held[-1], rate_limited=True)  # the probe refused: back to 4, not half of 5
    for lease in held[:-1]:
        lim.release(lease)
    assert limit_of(lim) == 4
    for _ in range(2 * PROBE_WINDOWS - 1):
        busy_window()
    assert limit_of(lim) == 4, "a refused probe doubles the wait for the next"
    busy_window()
    assert limit_of(lim) == 5


def test_answers_when_the_limit_is_not_in_use_do_not_raise_it(tmp_path):
    clock = Clock()
    lim = limiter(tmp_path, clock, cap=16)
    leases = [lim.acquire() for _ in range(4)]
    lim.release(leases[0], rate_limited=True)
    for lease in leases[1:]:
        lim.release(lease)
    for _ in range(20):  # one call at a time, limit 2: nothing learned
        lim.release(lim.acquire())
    assert limit_of(lim) == 2


def test_stated_max_concurrency_caps_the_limit(tmp_path):
    lim = limiter(tmp_path, Clock(), cap=8, max_concurrency=2)
    assert limit_of(lim) == 2


def test_requests_per_minute_are_paced_evenly(tmp_path):
    clock = Clock()
    lim = limiter(tmp_path, clock, requests_per_minute=30)
    times = []
    for _ in range(5):
        lease = lim.acquire()
        times.append(clock.now)
        lim.release(lease)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(2.0 <= gap <= 2.2 for gap in gaps), gaps


def test_tokens_per_minute_keep_a_sliding_minute_under_budget(tmp_path):
    clock = Clock()
    lim = limiter(tmp_path, clock, tokens_per_minute=10_000)
    sent = []
    for _ in range(6):
        lease = lim.acquire(tokens=3000)
        sent.append(clock.now)
        lim.release(lease)
    for t in sent:
        in_window = [s for s in sent if t <= s < t + 60]
        assert len(in_window) * 3000 <= 10_000


def test_a_quota_fails_every_caller_at_once_until_it_resets(tmp_path):
    clock = Clock()
    lim = limiter(tmp_path, clock)
    lim.record_quota(clock.now + 6 * 3600, "x-ratelimit-reset-requests")
    with pytest.raises(ProviderQuotaExhausted, match="model 'm' is out of quota until .* UTC"):
        lim.acquire()
    assert clock.slept == []
    clock.now += 6 * 3600 + 1
    lim.release(lim.acquire())


def test_a_pause_beyond_the_patience_gives_up_at_once(tmp_path):
    clock = Clock()
    lim = limiter(tmp_path, clock)
    lim.release(lim.acquire(), rate_limited=True, come_back_at=clock.now + 300)
    with pytest.raises(PatienceExhausted):
        lim.acquire(deadline=clock.now + 60)
    assert clock.slept == []


def test_higher_priority_goes_first(tmp_path):
    clock = Clock()
    lim = limiter(tmp_path, clock, max_concurrency=1)
    held = lim.acquire()
    with locked_json(lim.path) as st:  # a waiter of another task, more urgent than ours
        st["waiters"]["other"] = {"host": HOST, "pid": os.getpid(), "priority": 10, "since": clock.now,
                                  "seen": clock.now, "expires": clock.now + 900}
    lim.release(held)
    start = clock.now
    lim.acquire(priority=0)
    assert clock.now - start >= WAITER_STALE_S, "ours waited until the urgent one took its turn (or left)"


def _dead_pid() -> int:
    proc = multiprocessing.get_context("fork").Process(target=os._exit, args=(0,))
    proc.start()
    proc.join()
    return proc.pid


def test_a_dead_process_holds_no_slot(tmp_path):
    clock = Clock()
    lim = limiter(tmp_path, clock, max_concurrency=1)
    lim.acquire()
    with locked_json(lim.path) as st:
        for lease in st["leases"].values():
            lease["pid"] = _dead_pid()
    lim.acquire()
    assert clock.slept == []


def _hold(run_dir, spans):
    lim = SharedLimiter(run_dir, endpoint="ep", model="m", cap=3)
    for _ in range(3):
        lease = lim.acquire()
        start = time.time()
        time.sleep(0.03)
        spans.put((start, time.time()))
        lim.release(lease)


def test_the_limit_holds_across_processes(tmp_path):
    SharedLimiter(tmp_path, endpoint="ep", model="m", cap=3).snapshot()  # kept from the start
    ctx = multiprocessing.get_context("fork")
    spans = ctx.Queue()
    procs = [ctx.Process(target=_hold, args=(tmp_path, spans)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)
    intervals = [spans.get(timeout=5) for _ in range(18)]
    peak = max(sum(1 for s, e in intervals if s <= t < e) for t, _ in intervals)
    assert peak <= 3


def test_model_entries_state_limits_and_bad_ones_are_refused(tmp_path):
    import json

    from planexe_pipeline.errors import ConfigError
    from planexe_pipeline.llm.config import load_llm_config

    def entry(**spec):
        path = tmp_path / "llm_config.json"
        path.write_text(json.dumps({"models": {"m": {"class": "Simulated", "arguments": {"minute_s": 2.0}, **spec}}}))
        return load_llm_config(path)["m"]

    limits = entry(max_concurrency=3, requests_per_minute=30, tokens_per_minute=40000).limits
    assert (limits.max_concurrency, limits.requests_per_minute, limits.tokens_per_minute) == (3, 30.0, 40000.0)
    assert limits.minute_s == 2.0, "a simulated provider's minute is its own"
    assert entry().limits.adaptive and not entry(adaptive_limit=False).limits.adaptive
    for bad in ({"max_concurrency": 0}, {"max_concurrency": 1.5}, {"requests_per_minute": "20"},
                {"tokens_per_minute": -1}, {"adaptive_limit": "no"}):
        with pytest.raises(ConfigError, match="model 'm'"):
            entry(**bad)
    shipped = load_llm_config()
    assert shipped["ollama-llama3.1"].limits.max_concurrency and shipped["lmstudio"].limits.max_concurrency == 1
    assert shipped["openrouter-free"].limits.requests_per_minute == 20
    a, b = shipped["openrouter-free"], shipped["openrouter-llama-3.3-70b"]
    assert a.endpoint() != b.endpoint() and "OPENROUTER" not in a.endpoint()
