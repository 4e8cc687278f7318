"""The command line's revision of a plan: what a rerun redoes, said before it starts, and `redo`.

Part of the command line: like cli.py, it imports what a command needs when the command runs.
"""

from __future__ import annotations

import argparse
import sys


def announce_revision(found) -> list:
    """Say in one line what the run will redo (the revision it applies: runner.execute), and
    return those tasks."""
    line = found.line() if found else None
    if line:
        print(line, flush=True)
    for note in found.notes() if found else ():
        print(f"planexe-pipeline: {note}", file=sys.stderr, flush=True)
    return list(found.redo) if found else []


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


def add_redo_parser(sub, add_config_arg) -> None:
    redo = sub.add_parser("redo", help="ask one stage of a plan again (with a remark, another model), then "
                                       "redo what depends on it")
    redo.add_argument("run_dir", metavar="DIR", help="run folder of the plan")
    redo.add_argument("stage", metavar="STAGE",
                      help="the stage: its task (SWOTAnalysis), file stem (swot_analysis) or number (038)")
    redo.add_argument("--item", type=int, metavar="N", help="of a fan-out: only its item N (from 0)")
    redo.add_argument("--note", metavar="TEXT", help="a remark added to the stage's prompt, and shown in the report")
    redo.add_argument("--llm", metavar="NAME", help="ask this model from llm_config.json (this stage only)")
    redo.add_argument("--workers", type=int, default=None, help="Luigi worker processes (default 16)")
    redo.add_argument("--dry-run", action="store_true", help="list what would be redone, and stop")
    add_config_arg(redo)


def cmd_redo(args: argparse.Namespace, run_command) -> int:
    """Mark the stage's record to be asked again, then run the folder as `run --run-dir` does."""
    from pathlib import Path

    from planexe_pipeline import run_settings
    from planexe_pipeline.errors import InputError
    from planexe_pipeline.pipeline import PLAN
    from planexe_pipeline.prompt_input import read_fingerprint
    from planexe_pipeline.run_folder import RunFolderLock
    from planexe_pipeline.tasks import revision

    run_dir = Path(args.run_dir)
    if read_fingerprint(run_dir) is None:
        raise InputError(f"{run_dir} holds no plan: pass the folder of a plan made by planexe-pipeline run")
    if args.item is not None and args.item < 0:
        raise InputError(f"--item counts from 0, got {args.item}")
    keys = revision.redo_targets(PLAN, str(run_dir), args.stage, args.item)
    if args.dry_run:
        print(f"Would ask again: {', '.join(f'{f}' + ('' if i is None else f' [{i}]') for f, i in keys)}, "
              "then redo what depends on it")
        return 0
    with RunFolderLock(run_dir):  # not while a run is going on in it
        if args.llm:
            settings = run_settings.recorded(run_dir, args.llm_config)
            run_settings.record(run_dir, settings.with_model(args.llm, args.llm_config))
        revision.ask_again(PLAN, str(run_dir), keys, remark=args.note, model=args.llm)
    argv = ["run", "--run-dir", str(run_dir)]
    if args.workers:
        argv += ["--workers", str(args.workers)]
    if args.llm_config:
        argv += ["--llm-config", args.llm_config]
    return run_command(argv)
