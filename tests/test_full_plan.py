"""The whole graph end to end with the offline simulator: the CI sample plan writes every
numbered file and fan-out item, and the worker count changes no byte of the plan."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import luigi
import pytest

from planexe_pipeline.pipeline import FullPlan
from planexe_pipeline.prompts.catalog import get_prompt
from planexe_pipeline.records import RECORDS_DIR
from planexe_pipeline.run_settings import SETTINGS_FILE
from support.graph import declared_files, walk
from support.files import PLAN_MD, REPORT_HTML, items_dir, plan_file

pytestmark = [pytest.mark.usefixtures("every_export_format"), pytest.mark.slow, pytest.mark.timeout(120)]

SAMPLE_PROMPT_ID = "solar-farm-denmark"  # the Makefile's default plan
START_DATE = "2025-03-03"

# Every fan-out is capped at two items by --speed fast.
FAST_WIDTH = 2
# What the declarations name (tests/test_graph.py checks the names follow dependency order).
EXPECTED_FILES = declared_files(walk(), FAST_WIDTH)


def run_plan(run_dir: Path, workers: int) -> None:
    root = FullPlan(run_dir=str(run_dir), speed="fast", llm="simulated-instant",
                    prompt=get_prompt(SAMPLE_PROMPT_ID).prompt, start_date=START_DATE)
    result = luigi.build([root], workers=workers, local_scheduler=True, detailed_summary=True)
    assert result.status == luigi.execution_summary.LuigiStatusCode.SUCCESS, result.summary_text


def plan_files(run_dir: Path) -> dict[str, bytes]:
    """Every file of the run but its telemetry (timings differ from run to run by nature), its settings
    and the records of what each file was made from."""
    return {p.relative_to(run_dir).as_posix(): p.read_bytes() for p in sorted(run_dir.rglob("*"))
            if p.is_file() and p.relative_to(run_dir).parts[0] not in ("telemetry", SETTINGS_FILE, RECORDS_DIR)}


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_ci_sample_plan_writes_every_numbered_file_and_fan_out_item(tmp_path):
    run_plan(tmp_path, workers=4)
    files = plan_files(tmp_path)
    assert set(files) == EXPECTED_FILES, (f"missing: {sorted(EXPECTED_FILES - set(files))}; "
                                          f"unexpected: {sorted(set(files) - EXPECTED_FILES)}")
    assert all(files[name] for name in files), "empty output files"
    assert {"001-plan.txt", f"{items_dir('DraftDocumentToFindItem')}/item-001.json", plan_file("Schedule", "mmd"),
            REPORT_HTML, "999-pipeline_complete.txt"} <= set(files)
    assert files["999-pipeline_complete.txt"] == b"pipeline complete\n"

    plan = files[PLAN_MD].decode("utf-8")
    prompt_words = [w for w in get_prompt(SAMPLE_PROMPT_ID).prompt.split()[:12] if len(w) > 3]
    assert prompt_words[0] in plan
    for title in ("## Executive summary", "## Pitch", "## Work breakdown structure", "## Schedule",
                  "## Plan review", "## Questions and answers", "## Premortem"):
        assert f"\n{title}\n" in plan
    page = Tags()
    page.feed(files[REPORT_HTML].decode("utf-8"))
    page.close()
    assert "svg" in page.tags and "script" not in page.tags


def test_worker_count_changes_no_byte_of_the_plan(tmp_path):
    one, eight = tmp_path / "workers-1", tmp_path / "workers-8"
    run_plan(one, workers=1)
    run_plan(eight, workers=8)
    files_one, files_eight = plan_files(one), plan_files(eight)
    assert sorted(files_one) == sorted(files_eight)
    different = [name for name in files_one if files_one[name] != files_eight[name]]
    assert different == []
    assert (one / "telemetry").is_dir() and (eight / "telemetry").is_dir()
