"""The plan's file names as its tasks declare them, so that no test spells a number."""

from __future__ import annotations

from planexe_pipeline.pipeline import PLAN_TASKS


def plan_file(family: str, kind: str = "json") -> str:
    return PLAN_TASKS[family].files[kind]


def plan_files(family: str) -> list[str]:
    """Every file a task writes, in the order it declares them."""
    return list(PLAN_TASKS[family].files.values())


def items_dir(family: str) -> str:
    """The folder of a fan-out's item files, by the item task's family."""
    return PLAN_TASKS[family].stage_dir


REPORT_HTML = plan_file("Report", "html")
PLAN_MD = plan_file("Report", "md")
DONE = plan_file("FullPlan", "done")
