"""The command line's revision of a plan: what a rerun redoes, said before it starts, and `redo`."""

from __future__ import annotations

import sys

from planexe_pipeline.run_request import RunRequest
from planexe_pipeline.runner import revision_of


def announce_revision(request) -> None:
    """Say in one line what the run will redo; InputError, before anything is written, for an
    edit that no longer fits its stage."""
    from planexe_pipeline.runner import revision_of

    found = revision_of(request)
    line = found.line() if found else None
    if line:
        print(line, flush=True)
    for note in found.notes() if found else ():
        print(f"planexe-pipeline: {note}", file=sys.stderr, flush=True)


def dry_run(request) -> int:
    """--dry-run: what a rerun would redo, listed; nothing is written."""
    from planexe_pipeline.runner import revision_of

    found = revision_of(request)
    line = found.line() if found else None
    if found is None:
        print(f"{request.run_dir} holds no plan yet: a run would make all of it")
    elif not line:
        print(f"Nothing to redo in {request.run_dir}")
    else:
        print("\n".join([line, *found.listing()]))
    for note in found.notes() if found else ():
        print(f"planexe-pipeline: {note}", file=sys.stderr, flush=True)
    return 0
