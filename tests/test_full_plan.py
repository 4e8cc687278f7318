"""The whole graph end to end with the offline simulator: the CI sample plan writes every
numbered file and fan-out item, and the worker count changes no byte of the plan."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import luigi
import pytest

from planexe_pipeline.pipeline import FullPlan
from planexe_pipeline.prompts.catalog import get_prompt

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

SAMPLE_PROMPT_ID = "solar-farm-denmark"  # the Makefile's default plan
START_DATE = "2025-03-03"

JSON_AND_MD = [
    "002-identify_purpose", "003-plan_type", "004-potential_levers", "005-deduplicate_levers", "006-enrich_levers",
    "007-vital_few_levers", "009-candidate_scenarios", "010-select_scenario", "012-physical_locations",
    "013-currency_strategy", "014-identify_risks", "015-make_assumptions", "016-distill_assumptions",
    "017-review_assumptions", "019-pre_project_assessment", "020-project_plan", "021-governance_phase1_audit",
    "022-governance_phase2_bodies", "023-governance_phase3_impl_plan", "024-governance_phase4_decision_escalation",
    "025-governance_phase5_monitoring", "026-governance_phase6_extra", "028-related_resources",
    "029-find_team_members", "030-enrich_team_contract_type", "031-enrich_team_background",
    "032-enrich_team_environment", "033-review_team", "035-swot_analysis", "036-find_experts", "038-expert_review",
    "039-data_collection", "040-identify_documents", "041-filter_documents_to_find",
    "042-filter_documents_to_create", "043-draft_documents_to_find", "044-draft_documents_to_create",
    "046-wbs_level1", "047-wbs_level2", "048-wbs_project_level1_and_level2", "049-task_dependencies",
    "050-estimate_durations", "052-wbs_project_level1_level2_level3", "053-schedule", "054-create_pitch",
    "055-pitch", "056-review_plan", "057-executive_summary", "058-questions_answers", "059-premortem",
]
MD_ONLY = ["008-strategic_decisions", "011-scenarios", "018-consolidate_assumptions", "027-governance", "034-team",
           "045-documents"]
OTHER_FILES = ["001-plan.txt", "001-plan_fingerprint.json", "053-schedule.csv", "053-schedule.mmd", "060-plan.md",
               "060-report.html", "999-pipeline_complete.txt"]
# Every fan-out, each capped at two items by --speed fast.
FAN_OUT_DIRS = ["036-find_experts", "037-expert_criticism", "043-draft_documents_to_find",
                "044-draft_documents_to_create", "050-estimate_durations", "051-wbs_level3", "056-review_plan"]
FAST_WIDTH = 2

EXPECTED_FILES = ({f"{name}.{ext}" for name in JSON_AND_MD for ext in ("json", "md")}
                  | {f"{name}.md" for name in MD_ONLY} | set(OTHER_FILES)
                  | {f"{d}/item-{i:03d}.json" for d in FAN_OUT_DIRS for i in range(FAST_WIDTH)})


def run_plan(run_dir: Path, workers: int) -> None:
    root = FullPlan(run_dir=str(run_dir), speed="fast", llm="simulated-instant",
                    prompt=get_prompt(SAMPLE_PROMPT_ID).prompt, start_date=START_DATE)
    result = luigi.build([root], workers=workers, local_scheduler=True, detailed_summary=True)
    assert result.status == luigi.execution_summary.LuigiStatusCode.SUCCESS, result.summary_text


def plan_files(run_dir: Path) -> dict[str, bytes]:
    """Every file of the run but its telemetry (timings differ from run to run by nature)."""
    return {p.relative_to(run_dir).as_posix(): p.read_bytes() for p in sorted(run_dir.rglob("*"))
            if p.is_file() and p.relative_to(run_dir).parts[0] != "telemetry"}


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
    assert files["999-pipeline_complete.txt"] == b"pipeline complete\n"

    plan = files["060-plan.md"].decode("utf-8")
    prompt_words = [w for w in get_prompt(SAMPLE_PROMPT_ID).prompt.split()[:12] if len(w) > 3]
    assert prompt_words[0] in plan
    for title in ("## Executive summary", "## Pitch", "## Work breakdown structure", "## Schedule",
                  "## Plan review", "## Questions and answers", "## Premortem"):
        assert f"\n{title}\n" in plan
    page = Tags()
    page.feed(files["060-report.html"].decode("utf-8"))
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
