"""What a finished plan says, in the terms two plans are compared in: the report's sections (as the
stages declare them), the lists of things the plan names (risks, levers, documents, WBS tasks,
team members, ...: each item by its name) and the headline figures (schedule, budget, counts).

Every file read here was written by an LLM or edited by a person: a file that is missing or out of
shape makes its figure or list unreadable (said so in the diff), never the comparison fail.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from planexe_pipeline.errors import InputError
from planexe_pipeline.pipeline import FullPlan
from planexe_pipeline.prompt_input import read_fingerprint
from planexe_pipeline.report import assemble
from planexe_pipeline.stages.schedule import DatedSchedule
from planexe_pipeline.tasks.assumptions import DistillAssumptions, IdentifyRisks, PhysicalLocations
from planexe_pipeline.tasks.base import PlanTask
from planexe_pipeline.tasks.documents import FilterDocumentsToCreate, FilterDocumentsToFind
from planexe_pipeline.tasks.experts import ExpertsFound
from planexe_pipeline.tasks.framing import CandidateScenarios, IdentifyPurpose, SelectScenario, VitalFewLevers
from planexe_pipeline.tasks.governance import GovernancePhase2Bodies
from planexe_pipeline.tasks.plan import ProjectPlan
from planexe_pipeline.tasks.report import section_tasks
from planexe_pipeline.tasks.synthesis import Premortem
from planexe_pipeline.tasks.team import ReviewTeam
from planexe_pipeline.tasks.wbs import Schedule
from planexe_pipeline.variants.fork import check_plan_folder

# A plan's own outputs: NNN-stem.kind and the item folders NNN-stem/ (not telemetry, not records
# of its runs such as timeline.html or llm_failures/).
PLAN_OUTPUT = re.compile(r"\d{3}-")
CURRENCY_CHARS = 24  # a code or a name; a model that wrote a sentence there is cut short


@dataclass(frozen=True)
class ItemList:
    """A list a stage's JSON holds, whose items are matched between two plans by their name."""

    name: str
    task: type[PlanTask]
    path: str  # where the list is in the stage's JSON, dotted: "team.members"
    key: str  # what names an item within it, dotted: "lever.name"
    headline: bool = False  # its length is one of the headline figures


ITEM_LISTS = (
    ItemList("vital levers", VitalFewLevers, "levers", "lever.name"),
    ItemList("scenarios", CandidateScenarios, "scenarios", "name"),
    ItemList("locations", PhysicalLocations, "candidates", "name"),
    ItemList("risks", IdentifyRisks, "risks", "title", headline=True),
    ItemList("key assumptions", DistillAssumptions, "key_assumptions", "statement"),
    ItemList("deliverables", ProjectPlan, "deliverables", "name"),
    ItemList("milestones", ProjectPlan, "milestones", "name"),
    ItemList("budget lines", ProjectPlan, "budget.lines", "item"),
    ItemList("governance bodies", GovernancePhase2Bodies, "bodies", "body_name"),
    ItemList("team members", ReviewTeam, "team.members", "job_category_title", headline=True),
    ItemList("experts", ExpertsFound, "experts", "expert_title"),
    ItemList("documents to find", FilterDocumentsToFind, "kept", "title", headline=True),
    ItemList("documents to create", FilterDocumentsToCreate, "kept", "title", headline=True),
    ItemList("WBS tasks", Schedule, "tasks", "title"),  # counted by the schedule's figures
    ItemList("failure modes", Premortem, "failure_modes", "failure_title"),
)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    text: str | None  # its markdown; None when the file is missing


@dataclass(frozen=True)
class Figure:
    name: str
    text: str | None  # as shown; None when its file is unreadable
    number: float | None = None  # for the difference between two plans, where it is a quantity


@dataclass
class PlanFacts:
    path: Path
    title: str
    prompt_sha256: str | None
    sections: list[Section]
    items: dict[str, dict[str, str] | None]  # list name -> {item name: the item as canonical JSON}; None: unreadable
    figures: list[Figure]
    files: dict[str, str]  # every plan output, relative path -> sha256


def _dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        data = data[part]
    return data


def _json(run_dir: Path, task: type[PlanTask]) -> Any:
    """The stage's JSON, or None where it is missing or not JSON."""
    try:
        return json.loads((run_dir / task.files["json"]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _named_items(data: Any, spec: ItemList) -> dict[str, str] | None:
    try:
        items = _dig(data, spec.path)
        if not isinstance(items, list):
            return None
        names = [assemble.one_line(_dig(item, spec.key)) for item in items]
    except (KeyError, TypeError, IndexError):
        return None
    named: dict[str, str] = {}
    for name, item in zip(names, items):
        label, n = name or "(unnamed)", 1
        while label in named:  # two items of one name are told apart by their order
            n += 1
            label = f"{name or '(unnamed)'} ({n})"
        named[label] = json.dumps(item, sort_keys=True, ensure_ascii=False)
    return named


def _schedule_figures(run_dir: Path) -> list[Figure]:
    """The report's own figures of the schedule (its header), the quantities among them counted."""
    # The work breakdown is counted by level ("4 phases, 24 tasks and 94 subtasks"): told as text.
    names = {"Start": False, "Duration": True, "Work breakdown": False, "Critical path": True}
    try:
        meta = assemble.report_meta(DatedSchedule.model_validate(_json(run_dir, Schedule)))
    except (ValidationError, ValueError, TypeError):
        return [Figure(name, None) for name in names]
    return [Figure(name, meta[name], _leading_number(meta[name]) if counted else None)
            for name, counted in names.items()]


def _budget(run_dir: Path) -> Figure:
    try:
        budget = _json(run_dir, ProjectPlan)["budget"]
        total = float(budget["total"])
    except (KeyError, TypeError, ValueError):
        return Figure("Budget", None)
    currency = assemble.one_line(budget.get("currency", ""))
    currency = currency if len(currency) <= CURRENCY_CHARS else currency[:CURRENCY_CHARS - 3] + "..."
    return Figure("Budget", f"{total:,.0f} {currency}".strip(), round(total))  # as shown: whole units


def _scenario(run_dir: Path) -> Figure:
    try:
        scenario = _json(run_dir, SelectScenario)["scenario"]
        return Figure("Scenario", assemble.one_line(f"{scenario['id']} {scenario['name']}"))
    except (KeyError, TypeError):
        return Figure("Scenario", None)


def _leading_number(text: str) -> float | None:
    match = re.match(r"-?\d[\d,]*(\.\d+)?", text)
    return float(match.group(0).replace(",", "")) if match else None


def _count(spec: ItemList, items: dict[str, str] | None) -> Figure:
    name = spec.name[:1].upper() + spec.name[1:]
    return Figure(name, None) if items is None else Figure(name, str(len(items)), len(items))


def _title(run_dir: Path) -> str:
    try:
        return assemble.report_title(str(_json(run_dir, IdentifyPurpose)["topic"]))
    except (KeyError, TypeError):
        return assemble.report_title("")


def _sections(run_dir: Path) -> list[Section]:
    sections = []
    for task in section_tasks():
        try:
            text = (run_dir / task.files[task.text_output]).read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = None
        sections.append(Section(task.section.key, task.section.title, text))
    return sections


def plan_outputs(run_dir: Path) -> dict[str, str]:
    """Every output of the plan's steps, by its path relative to the folder, with its sha256."""
    found = {}
    for top in run_dir.iterdir():
        if not PLAN_OUTPUT.match(top.name):
            continue
        for path in ([top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())):
            found[path.relative_to(run_dir).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return dict(sorted(found.items()))


def check_finished_plan(run_dir: Path) -> None:
    check_plan_folder(run_dir)
    if not (run_dir / FullPlan.files["done"]).is_file():
        raise InputError(f"{run_dir} is not a finished plan (it has no {FullPlan.files['done']}): finish it with "
                         f"planexe-pipeline run --run-dir {run_dir}, or pass a finished plan")


def read_plan_facts(run_dir: Path) -> PlanFacts:
    check_finished_plan(run_dir)
    items = {spec.name: _named_items(_json(run_dir, spec.task), spec) for spec in ITEM_LISTS}
    figures = [_scenario(run_dir), *_schedule_figures(run_dir), _budget(run_dir),
               *(_count(spec, items[spec.name]) for spec in ITEM_LISTS if spec.headline)]
    try:
        prompt_sha256 = (read_fingerprint(run_dir) or {}).get("prompt_sha256")
    except InputError:
        prompt_sha256 = None
    return PlanFacts(run_dir, _title(run_dir), prompt_sha256, _sections(run_dir), items, figures,
                     plan_outputs(run_dir))
