"""The run folder while a run owns it: one run per folder, and what a killed run left behind."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from planexe_pipeline.errors import InputError

LOCK_FILE = ".run.lock"


class RunFolderLock:
    """One `planexe-pipeline run` per run folder at a time (scaled-out workers share it on purpose)."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / LOCK_FILE
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


@contextlib.contextmanager
def no_run_while(run_dir: Path, doing: str) -> Iterator[None]:
    """Refuse a folder that a `planexe-pipeline run` holds right now, and keep runs out of it until
    the block ends (a run that starts meanwhile is refused as for any busy folder). The folder is
    read, never written: a folder without the lock file has never been run from this machine."""
    try:
        fd = os.open(run_dir / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"{run_dir} is being run right now: wait for its run to end (or stop it) "
                             f"before {doing}") from None
        yield
    finally:
        os.close(fd)  # closing releases the flock


# The temporary files of a write cut short: Luigi's (<file>-luigi-tmp-<digits>), and write_whole's
# (.<file>.<pid>.tmp).
INTERRUPTED_WRITES = ("*-luigi-tmp-*", ".*.tmp")


def write_whole(path: Path, text: str) -> None:
    """`text` written whole or not at all: to a temporary file of this process's own (several
    processes may write the same file: a scaled-out plan's workers), then renamed over `path`. A
    kill leaves only the temporary file, which a run removes (remove_interrupted_writes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def remove_interrupted_writes(run_dir: Path) -> None:
    """A SIGKILLed run can leave the temp files of its atomic writes. They are never valid
    outputs; call this only while holding the folder's lock, so that no one is writing them now."""
    for pattern in INTERRUPTED_WRITES:
        for leftover in run_dir.rglob(pattern):
            if leftover.is_file():
                leftover.unlink(missing_ok=True)
