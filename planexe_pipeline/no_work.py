"""A scaled-out worker that the central scheduler has no task for, while the plan is not complete.

Having nothing to do is normal while other workers run what is ready. It is a fault when nothing
of the plan runs anywhere and still nothing is handed out: luigid holds tasks it will never hand
out (one it gave up on, one whose input it was never told). Luigi's worker asks again every
[worker] wait_interval (50 times a second) for ever. Ours asks less and less often while the plan
does not move, the pause doubling up to LONGEST_PAUSE_S, and starts over when a task of the plan
ends anywhere (work may be ready then: an idle worker still takes its share of it). Once the fault
has lasted REPORT_AFTER_S it says so (a `no_work` telemetry line, shown by `planexe-pipeline
status`), and after [scale_out] no_work_patience it stops with one line naming what it saw
(scaleout.PlanWorker).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Callable, Mapping

from luigi.task_status import DISABLED, FAILED, PENDING, RUNNING, UNKNOWN

# At most 1 / LONGEST_PAUSE_S get_work calls a second from a worker that gets nothing; a task made
# ready by another worker's result waits at most this long for a worker with a free process.
LONGEST_PAUSE_S = 0.25
REPORT_AFTER_S = 5.0
# What a task luigid holds but will not run is waiting for, by its status there.
WHY_BLOCKED = {UNKNOWN: "tasks it was never told of", FAILED: "tasks that failed",
               DISABLED: "tasks it gave up on (failed or lost with their worker too often: see the visualiser)"}
NAMED = 3  # task names in the line; the rest are counted


class NoWorkWait:
    """The pause before the next ask, and how long the worker has been stuck: handed nothing while
    nothing of the plan ran anywhere."""

    def __init__(self, *, patience_s: float, first_pause_s: float, longest_pause_s: float = LONGEST_PAUSE_S,
                 clock: Callable[[], float] = time.monotonic):
        self.patience_s = patience_s
        self.first_pause_s = min(first_pause_s, longest_pause_s)
        self.longest_pause_s = longest_pause_s
        self.pause_s = self.first_pause_s
        self._clock = clock
        self._stuck_since: float | None = None
        self._reported = False

    def answered(self, got_task: bool) -> None:
        """One answer to get_work: a task starts the waiting over; nothing doubles the next pause."""
        if got_task:
            self.moved()
        else:
            self.pause_s = min(self.pause_s * 2, self.longest_pause_s)

    def moved(self) -> None:
        """A task of the plan ended somewhere: work may be ready, and the plan is not stuck."""
        self.pause_s = self.first_pause_s
        self._stuck_since = None
        self._reported = False

    def idle(self, running_anywhere: bool) -> None:
        """The worker runs nothing and got nothing; `running_anywhere`: luigid runs a task of the plan."""
        if running_anywhere:
            self._stuck_since = None
            self._reported = False
        elif self._stuck_since is None:
            self._stuck_since = self._clock()

    @property
    def stuck_for_s(self) -> float:
        return 0.0 if self._stuck_since is None else self._clock() - self._stuck_since

    def report_due(self) -> bool:
        """True once per stuck stretch, when it has lasted REPORT_AFTER_S (or half the patience)."""
        if self._reported or self.stuck_for_s < min(REPORT_AFTER_S, self.patience_s / 2):
            return False
        self._reported = True
        return True

    @property
    def out_of_patience(self) -> bool:
        return self._stuck_since is not None and self.stuck_for_s >= self.patience_s


def _names(counts: Counter) -> str:
    shown = [f"{n} {name}" if n > 1 else name for name, n in counts.most_common(NAMED)]
    more = sum(counts.values()) - sum(n for _, n in counts.most_common(NAMED))
    return ", ".join(shown) + (f" and {more} more" if more else "")


def waiting_for(graph: Mapping[str, Mapping]) -> str:
    """What the plan's unfinished tasks wait for, from luigid's dependency graph of the plan's root
    with its done tasks left out (its `dep_graph` answer): the tasks it holds but will not run, by
    why, or the pending tasks whose inputs are all done but that it does not hand out."""
    if not graph:
        return "the central scheduler holds nothing of the plan"
    blocked: dict[str, Counter] = {}
    for node in graph.values():
        why = WHY_BLOCKED.get(node.get("status"))
        if why:
            index = (node.get("params") or {}).get("index")
            name = f"{node.get('name')}" + (f" [{index}]" if index is not None else "")
            blocked.setdefault(why, Counter())[name] += 1
    if blocked:
        return "they wait for " + "; ".join(f"{why}: {_names(names)}" for why, names in blocked.items())
    ready = Counter(str(node.get("name")) for node in graph.values()
                    if node.get("status") == PENDING and not node.get("deps"))
    if ready:
        return f"ready but not handed out: {_names(ready)}"
    return "nothing pending is ready"


def plan_counts(graph: Mapping[str, Mapping]) -> tuple[int, int]:
    """(pending, running) tasks of the plan in luigid's dependency graph of its root."""
    statuses = Counter(node.get("status") for node in graph.values())
    return statuses[PENDING], statuses[RUNNING]
