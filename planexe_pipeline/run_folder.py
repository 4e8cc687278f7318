"""The run folder while a run owns it: one run per folder, and what a killed run left behind."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from planexe_pipeline.errors import InputError


class RunFolderLock:
    """One `planexe-pipeline run` per run folder at a time (scaled-out workers share it on purpose)."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / ".run.lock"
        self.fd: int | None = None

    def __enter__(self) -> "RunFolderLock":
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise InputError(f"run folder {self.path.parent} is being run by another process right now: "
                             "wait for it to finish, or use another --run-dir") from None
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)


def remove_interrupted_writes(run_dir: Path) -> None:
    """A SIGKILLed run can leave Luigi's atomic-write temp files (<file>-luigi-tmp-<digits>).
    They are never valid outputs; call this only while holding the folder's lock, so that no
    one is writing them now."""
    for leftover in run_dir.rglob("*-luigi-tmp-*"):
        if leftover.is_file():
            leftover.unlink(missing_ok=True)
