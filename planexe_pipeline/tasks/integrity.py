"""Damaged files under finished steps: found on resume, so the run redoes them.

Luigi looks no further down the graph than a task that is complete, so a file that was
truncated or edited out of shape below a finished step (or in a finished plan) would never be
looked at again. A resume walks the whole graph of what is already written and names such tasks,
and the runner asks Luigi for them beside the plan itself.
"""

from __future__ import annotations

import luigi

from planexe_pipeline.errors import UnreadableOutput
from planexe_pipeline.tasks.fanout import FanOutMerge


def unreadable_tasks(root: luigi.Task) -> list[luigi.Task]:
    """Tasks whose outputs all exist but do not read back, anywhere under finished tasks."""
    found: list[luigi.Task] = []
    seen: set[str] = set()
    todo = [root]
    while todo:
        task = todo.pop()
        if task.task_id in seen:
            continue
        seen.add(task.task_id)
        if not all(t.exists() for t in luigi.task.flatten(task.output())):
            continue  # not done yet: Luigi itself checks everything below it
        if not task.complete():
            found.append(task)
            continue
        todo += luigi.task.flatten(task.requires())
        if isinstance(task, FanOutMerge):
            try:
                todo += task.dynamic_requires()
            except UnreadableOutput:
                pass  # its list is the damaged one, found through requires() above
    return found
