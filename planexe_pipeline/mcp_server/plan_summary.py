"""A plan in under 2 KB, for an agent that wants its outline before (or instead of) its 100 KB.

Read from the files the run wrote, each optional (a plan still running has some of them): the
report's title, the project plan's goal, duration and budget, the schedule's dates, the sections
of plan.md with the byte offset where each begins (plan_file reads from there), and the flags a
reader must know about: text written by the simulator, answers kept although degenerate.
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

from planexe_pipeline.errors import PipelineError
from planexe_pipeline.llm.config import load_llm_config, uses_simulator
from planexe_pipeline.report.assemble import report_title
from planexe_pipeline.stages.markdown import FLAGS_KEY
from planexe_pipeline.tasks.framing import IdentifyPurpose
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.report import Report, report_sections
from planexe_pipeline.tasks.wbs import Schedule
from planexe_pipeline.telemetry.event_log import last_models

TEXT_CHARS = 240  # a goal or title past this is cut: the summary stays small whatever a model wrote
NAME_CHARS = 60


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _cut(value: object, limit: int = TEXT_CHARS) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _number(value: object) -> float | int | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def sections(plan_md: Path) -> dict[str, int]:
    """Each section of plan.md and the byte offset of its heading, in the plan's order. Only the
    report's own section titles count: a model's text can hold a line that looks like one."""
    try:
        data = plan_md.read_bytes()
    except OSError:
        return {}
    titles = {section.title for section in report_sections()}
    found = {}
    for match in re.finditer(rb"^## (.+)$", data, flags=re.MULTILINE):
        title = match.group(1).decode("utf-8", errors="replace").strip()
        if title in titles:
            found.setdefault(title, match.start())
    return found


def _duration(plan: dict, schedule: dict) -> dict | None:
    duration = {"months": _number(plan.get("duration_months"))}
    try:
        start = datetime.date.fromisoformat(schedule["start_date"])
        end = datetime.date.fromisoformat(schedule["end_date"])
    except (KeyError, TypeError, ValueError):
        pass
    else:  # as the report's header states it (report_meta): the end date is the day after the last
        duration.update(start=start.isoformat(), last_day=max(start, end - datetime.timedelta(days=1)).isoformat(),
                        calendar_days=(end - start).days)
    return duration if any(v is not None for v in duration.values()) else None


def _budget(plan: dict) -> dict | None:
    budget = plan.get("budget") if isinstance(plan.get("budget"), dict) else {}
    shown = {"total": _number(budget.get("total")), "currency": _cut(budget.get("currency"), NAME_CHARS),
             "contingency_percent": _number(budget.get("contingency_percent"))}
    return shown if any(v is not None for v in shown.values()) else None


def _quality_flags(run_dir: Path) -> dict[str, int]:
    """Stage file -> answers kept although degenerate (tasks/base.py writes them beside the answer)."""
    flagged = {}
    for path in sorted(run_dir.glob("[0-9][0-9][0-9]-*.json")):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        if f'"{FLAGS_KEY}"' in text:
            flags = _json(path).get(FLAGS_KEY)
            if isinstance(flags, list) and flags:
                flagged[path.stem] = len(flags)
    return flagged


def _flags(run_dir: Path, state: str, simulated: bool) -> list[str]:
    flags = []
    if simulated:
        flags.append("simulated: the offline simulator wrote this text; it is not a plan to act on")
    if state != "done":
        flags.append(f"incomplete: the plan is {state}; what it wrote so far is summed up")
    flagged = _quality_flags(run_dir)
    if flagged:
        flags.append(f"quality: {sum(flagged.values())} answers looked degenerate and were kept, flagged in "
                     f"their sections ({_cut(', '.join(flagged), TEXT_CHARS)})")
    return flags


def plan_summary(run_dir: Path, state: str, llm_config: str | None) -> dict:
    purpose = _json(run_dir / IdentifyPurpose.files["json"])
    plan = _json(run_dir / ProjectPlan.files["json"])
    models, recorded_config = last_models(run_dir)
    try:
        simulated = uses_simulator(list(models), load_llm_config(recorded_config or llm_config))
    except PipelineError:  # the config the run used is gone: its models' names are still shown
        simulated = False
    topic = _cut(purpose.get("topic"), NAME_CHARS)
    return {
        "title": report_title(topic) if topic else None,
        "goal": _cut(plan.get("goal_statement") or purpose.get("goal_statement")),
        "duration": _duration(plan, _json(run_dir / Schedule.files["json"])),
        "budget": _budget(plan),
        "models": list(models),
        "sections": sections(run_dir / Report.files["md"]),
        "flags": _flags(run_dir, state, simulated),
    }
