"""The repository explains itself: its generated references are current, the README stays a short
guide whose links resolve, and nothing points outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from planexe_pipeline.cli_reference import reference_markdown

REPO = Path(__file__).resolve().parent.parent


def test_the_command_line_reference_is_current():
    assert (REPO / "docs" / "cli.md").read_text() == reference_markdown(), \
        "docs/cli.md is stale: run `make docs`"


def test_the_readme_is_a_short_guide_whose_links_resolve():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 350
    assert "make run-plan" in readme and "make test" in readme
    links = re.findall(r"\]\(((?:docs|tests|planexe_pipeline|scripts)/[^)#]+)", readme)
    assert "docs/architecture.md" in links
    for target in links:
        assert (REPO / target).exists(), f"README links to {target}, which does not exist"


def test_nothing_in_the_repository_points_outside_it():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    outside = re.compile(r"\.\./shared|DESIGN\.md")
    offenders = [name for name in tracked if (REPO / name).is_file() and name != "tests/test_docs.py"
                 and outside.search((REPO / name).read_text(errors="ignore"))]
    assert offenders == []
