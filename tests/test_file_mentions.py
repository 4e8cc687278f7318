"""Every plan file a doc, a test or a comment names by its number (`NNN-name`) is one a full plan
writes, as the task declarations name them: a renumbering that leaves a stale name fails here."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from support.crafted import CraftedEnd
from support.graph import declared_files, walk

REPO = Path(__file__).resolve().parent.parent
# A number of three digits, a dash and a lower-case name, with its extension if it has one; not
# part of a longer word or number (a date, "item-000", "16,384-token").
MENTION = re.compile(r"(?<![\w.,-])(\d{3}-[a-z][a-z0-9_]*)((?:\.[a-z]+)?)")
QUOTES = "`'\"/"
SCANNED = re.compile(r"(README\.md|Makefile|docs/.+\.md|planexe_pipeline/.+\.(py|j2)|tests/.+\.py|scripts/.+)$")


def full_plan_names() -> set[str]:
    """Every file of a full plan and every folder its fan-outs write, e.g. 040-expert_criticism (and
    those of the small plan the revision tests craft, support/crafted.py)."""
    files = declared_files(walk(), fan_out_width=1) | declared_files(walk(CraftedEnd), fan_out_width=1)
    return files | {name.split("/")[0] for name in files if "/" in name}


def mentions() -> dict[str, set[str]]:
    """Each mentioned name, with the files that mention it."""
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    found: dict[str, set[str]] = {}
    for name in filter(SCANNED.match, tracked):
        text = (REPO / name).read_text(encoding="utf-8", errors="ignore")
        for match in MENTION.finditer(text):
            stem, extension = match.groups()
            # Prose such as "a 160-character line" is no file: a file name has an extension, an
            # underscore in its stem, or stands quoted (or after a folder).
            if extension or "_" in stem or text[match.start() - 1:match.start()] in QUOTES:
                found.setdefault(stem + extension, set()).add(name)
    return found


def test_every_numbered_file_mentioned_is_one_a_full_plan_writes():
    names = full_plan_names()
    stems = {name.rsplit(".", 1)[0] for name in names if "/" not in name}
    stale = {mention: sorted(where) for mention, where in mentions().items()
             if mention not in names and (mention.count(".") or mention not in stems)}
    assert stale == {}, "names no full plan writes (renumbered or renamed?): " + repr(stale)


def test_the_scan_finds_the_mentions_it_checks():
    """A pattern that matched nothing would pass the test above whatever the files say."""
    found = mentions()
    assert "070-plan.md" in found and "001-plan.txt" in found
    assert "999-pipeline_complete.txt" in found
