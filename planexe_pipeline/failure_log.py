"""A step that fails on our error ends in its one line, in Luigi's own log as in ours.

Luigi logs a task that failed with its traceback, and a complete() that raised with the traceback
in its message; what those records look like is Luigi's (luigi_relied_on.py names it)."""

from __future__ import annotations

import logging

import luigi

from planexe_pipeline.errors import PipelineError
from planexe_pipeline.luigi_relied_on import COMPLETE_FAILED, LUIGI_LOGGER


class OneLineFailures(logging.Filter):
    """Luigi logs a task that failed with its traceback, and a complete() that raised with the
    traceback in its message. Our own errors (PipelineError) carry a line that says what to do:
    that line is logged alone, once (Luigi checks a shared upstream's complete() once per task
    that needs it). Anything else (a defect) keeps its traceback."""

    def __init__(self) -> None:
        super().__init__()
        self.said: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        line = None
        if isinstance(error, PipelineError):
            task = next((a for a in record.args or () if isinstance(a, luigi.Task)), None)
            named = task is None or error.names_its_stage or error.stands_for_the_run
            line = str(error) if named else f"{task.task_family}: {error}"
            record.exc_info, record.exc_text = None, None
        elif isinstance(record.msg, str) and COMPLETE_FAILED in record.msg:
            headline, _, trace = record.msg.partition(COMPLETE_FAILED)
            error_line = _our_error(trace)
            line = f"{headline.removeprefix('Will not run ')}: {error_line}" if error_line is not None else None
        if line is None:
            return True
        record.msg, record.args = "%s", (line,)
        if line in self.said:
            return False
        self.said.add(line)
        return True


def _our_error(trace: str) -> str | None:
    """The message of a traceback's last line when it is one of our errors (a PipelineError)."""
    last = next((line for line in reversed(trace.splitlines()) if line.strip()), "")
    name, _, message = last.partition(": ")
    ours = {f"{cls.__module__}.{cls.__qualname__}" for cls in _subclasses(PipelineError)}
    return message if name in ours else None


def _subclasses(cls: type) -> list[type]:
    return [cls, *(sub for child in cls.__subclasses__() for sub in _subclasses(child))]


def one_line_failures() -> None:
    """`luigi --module planexe_pipeline.pipeline ...` ends a failed step in its one line."""
    logger = logging.getLogger(LUIGI_LOGGER)
    if not any(isinstance(f, OneLineFailures) for f in logger.filters):
        logger.addFilter(OneLineFailures())
