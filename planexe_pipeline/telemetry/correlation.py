"""One id per run, shared by every process and host of it: its correlation id and its trace id.

The id is 32 hex digits, the form of an OpenTelemetry trace id, so that with tracing on the run's
trace carries the same id as its telemetry, its failure lines and its alerts. It is kept in
RUN_DIR/telemetry/run_id.json with the id of the run's root span. A `run` on its own folder (which
it holds locked) starts a new id; a worker of a scaled-out plan joins the id of the other workers
still on it, so the hosts' spans make one trace. The first `run` that ends closes the id: a later
run of the folder is another run, with another trace.

Each task execution gets a span id in its start line, and an LLM call made by the task names it
as its parent: the trace's shape is in the telemetry lines, and any process can turn them into
spans (telemetry/otel_export.py).
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from planexe_pipeline.run_folder import write_whole
from planexe_pipeline.telemetry.event_log import host_label, telemetry_dir

RUN_ID_FILE = "run_id.json"
# The GenAI semantic conventions' switch for prompt and answer text in traces: off unless asked for.
CAPTURE_CONTENT_VARIABLE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class RunIdentity:
    run_id: str  # the trace id
    root_span_id: str
    started: float
    scaled_out: bool = False
    ended: float | None = None
    opener: str = ""  # host:pid of the run that opened the id, which reports the run's own span

    @property
    def opened_here(self) -> bool:
        return self.opener == _this_process()


def _this_process() -> str:
    return f"{host_label()}:{os.getpid()}"


def _read(path: Path) -> RunIdentity | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunIdentity(**{k: data[k] for k in ("run_id", "root_span_id", "started")},
                           scaled_out=bool(data.get("scaled_out")), ended=data.get("ended"),
                           opener=str(data.get("opener", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, identity: RunIdentity) -> None:
    write_whole(path, json.dumps(asdict(identity), sort_keys=True) + "\n")


class _FolderLock:
    """flock on a file beside run_id.json: hosts deciding on the id at the same moment agree."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(folder / ".run_id.lock", os.O_WRONLY | os.O_CREAT, 0o644)

    def __enter__(self) -> "_FolderLock":
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


def claim_run_id(run_dir: str | os.PathLike, *, scaled_out: bool) -> RunIdentity:
    """This run's identity: the open one of a scaled-out plan this worker joins, else a new one."""
    folder = telemetry_dir(run_dir)
    path = folder / RUN_ID_FILE
    with _FolderLock(folder):
        current = _read(path)
        if scaled_out and current is not None and current.scaled_out and current.ended is None:
            return current
        identity = RunIdentity(new_trace_id(), new_span_id(), time.time(), scaled_out, opener=_this_process())
        _write(path, identity)
        return identity


def close_run_id(run_dir: str | os.PathLike, identity: RunIdentity) -> None:
    """The run has ended: a later run of the folder starts an id of its own."""
    folder = telemetry_dir(run_dir)
    path = folder / RUN_ID_FILE
    with _FolderLock(folder):
        current = _read(path)
        if current is not None and current.run_id == identity.run_id and current.ended is None:
            _write(path, dataclasses.replace(current, ended=time.time()))


def read_run_id(run_dir: str | os.PathLike) -> RunIdentity | None:
    return _read(telemetry_dir(run_dir) / RUN_ID_FILE)


# task id -> span id of its execution in this process (set at its start line, dropped at its end).
_task_spans: dict[str, str] = {}


def begin_task_span(task_id: str) -> str:
    span_id = _task_spans[task_id] = new_span_id()
    return span_id


def task_span(task_id: str | None) -> str | None:
    return _task_spans.get(task_id) if task_id is not None else None


def end_task_span(task_id: str) -> str | None:
    return _task_spans.pop(task_id, None)


def capture_content() -> bool:
    """Whether an LLM call's telemetry line (and so its span) carries the prompt's text."""
    return os.environ.get(CAPTURE_CONTENT_VARIABLE, "").strip().lower() in ("1", "true", "yes")
