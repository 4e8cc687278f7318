"""docs/cli.md, written from the command line's own parser: every command, every option, its
default and its help, so the reference cannot drift from what the program accepts."""

from __future__ import annotations

import argparse

from planexe_pipeline.cli import build_parser


class _FixedWidth(argparse.HelpFormatter):
    def __init__(self, prog: str):
        super().__init__(prog, width=100)


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    helps = {choice.dest: choice.help or "" for choice in action._choices_actions}  # noqa: SLF001
    return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]


def _option_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._HelpAction):  # noqa: SLF001
            continue
        names = ", ".join(f"`{o}`" for o in action.option_strings) or f"`{action.metavar or action.dest}`"
        if action.option_strings and action.nargs != 0:
            names += f" {action.metavar or action.dest.upper()}"
        default = action.default
        shown = "" if default in (None, False, argparse.SUPPRESS) or action.nargs == 0 else f"`{default}`"
        choices = f" (one of {', '.join(map(str, action.choices))})" if action.choices else ""
        text = " ".join((action.help or "").replace("%(prog)s", "planexe-pipeline").split())
        rows.append(f"| {names} | {shown} | {text}{choices} |".replace("|  |", "| |"))
    return rows


def reference_markdown() -> str:
    parser = build_parser()
    lines = ["# Command line reference", "",
             "Every command of `planexe-pipeline`, written from the program's own parser by `make docs`;",
             "a test fails when this file and the program disagree. `planexe-pipeline COMMAND --help` says the same.",
             ""]
    for name, summary, sub in _subcommands(parser):
        sub.formatter_class = _FixedWidth  # the terminal's width must not change the file
        lines += [f"## `planexe-pipeline {name}`", "", summary[:1].upper() + summary[1:] + ".", "",
                  "```", sub.format_usage().strip().replace("usage: ", ""), "```", ""]
        rows = _option_rows(sub)
        if rows:
            lines += ["| option | default | meaning |", "|---|---|---|", *rows, ""]
    return "\n".join(lines).rstrip() + "\n"
