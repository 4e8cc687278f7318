"""The command line of `fork` and `diff`: their arguments only, so that building the parser for any
command imports nothing heavier than argparse (the commands themselves: fork.py, diff_command.py)."""

from __future__ import annotations

import argparse

def add_variant_parsers(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's own type
    fork = sub.add_parser("fork", help="make a new plan folder that shares every finished step of a plan "
                                       "and records it as its parent")
    fork.add_argument("run_dir", metavar="DIR", help="the run folder of the plan to fork (it is only read)")
    fork.add_argument("new_dir", metavar="NEW", help="the new folder (must not exist, or be empty)")

    diff = sub.add_parser("diff", help="what plan B does differently from plan A: sections, items, headline figures")
    diff.add_argument("a", metavar="A", help="the run folder of a finished plan (the earlier one, or the parent)")
    diff.add_argument("b", metavar="B", help="the run folder of another finished plan (the later one, or the fork)")
    diff.add_argument("--html", metavar="OUT", help="also write the diff as one self-contained HTML page")
    diff.add_argument("--json", action="store_true", help="print JSON instead of text")
