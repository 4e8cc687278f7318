"""The command line's `export`: a finished plan's export files, written after the run (a plan made
without the `export` extra, or other formats). Part of the command line: like cli.py, it imports
what a command needs when the command runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from planexe_pipeline.errors import InputError
from planexe_pipeline.export.formats import FORMATS


def add_export_parser(sub) -> None:
    export = sub.add_parser("export", help="write a finished plan as MS Project XML, iCalendar, PDF and Word files")
    export.add_argument("run_dir", metavar="RUN_DIR")
    export.add_argument("--format", default=",".join(FORMATS), metavar="F,F,...",
                        help=f"formats to write, comma-separated: {', '.join(FORMATS)} (default: all)")


def cmd_export(args: argparse.Namespace, run_dir: Path) -> int:
    """`export`: the chosen formats' files of the finished plan in `run_dir`, written now."""
    import luigi

    from planexe_pipeline.export.formats import missing_line, parse_formats
    from planexe_pipeline.tasks.exports import EXPORTS
    from planexe_pipeline.tasks.print_parts import PRINTED, part_tasks

    try:
        formats = parse_formats(args.format)
    except ValueError as exc:
        raise InputError(f"--format: {exc}") from None
    if not formats:
        raise InputError(f"--format names no format: pass some of {', '.join(FORMATS)}")
    missing = missing_line(formats)
    if missing:
        raise InputError(missing)
    tasks = [EXPORTS[f.name](run_dir=str(run_dir)) for f in formats]
    parts = [part(run_dir=str(run_dir)) for f in formats if f.name in PRINTED for part in part_tasks(f.name)]
    part_files = {Path(t.path) for part in parts for t in luigi.task.flatten(part.output())}
    absent = sorted({Path(t.path).name for task in [*parts, *tasks] for t in luigi.task.flatten(task.input())
                     if Path(t.path) not in part_files and not Path(t.path).is_file()})
    if absent:
        raise InputError(f"run folder {run_dir} has no finished plan to export (no {', '.join(absent)}): "
                         f"finish it with planexe-pipeline run --run-dir {run_dir}")
    for part in parts:  # the sections printed, as a run prints them while the plan is made
        part.run()
    for task in tasks:
        task.run()
        for name in task.files.values():
            print(run_dir / name)
    return 0
