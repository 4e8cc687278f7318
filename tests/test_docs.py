"""The repository explains itself: its generated references are current."""

from __future__ import annotations

from pathlib import Path

from planexe_pipeline.cli_reference import reference_markdown

REPO = Path(__file__).resolve().parent.parent


def test_the_command_line_reference_is_current():
    assert (REPO / "docs" / "cli.md").read_text() == reference_markdown(), \
        "docs/cli.md is stale: run `make docs`"
