"""A small crafted plan for the graph and revision tests: the real Setup, then

    Root (LLM, reads the idea) -> Middle (LLM, reads Root's JSON)
    Root -> Things (LLM: a list) -> ThingItem i (one LLM call per thing, reads Middle) -> Things merge
    Leaf (LLM, reads the merge and Middle's text) -> Summary (code: Root's and Leaf's text) -> End

Its classes are taken out of the plan's registry once defined, so the real plan (its report,
its graph test) never sees them.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import luigi
from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor
from planexe_pipeline.records import RECORDS_DIR
from planexe_pipeline.stages.markdown import bullets, document, user_prompt
from planexe_pipeline.tasks import revision
from planexe_pipeline.tasks.base import PLAN_TASKS, LLMStage, MarkdownStage, PlanTask
from planexe_pipeline.tasks.fanout import FanOutItem, FanOutMerge
from planexe_pipeline.tasks.graph import PlanGraph
from planexe_pipeline.tasks.inputs import Input
from planexe_pipeline.tasks.setup import IDEA
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import LLMCallEvent, TaskEvent


class Idea(BaseModel):
    title: str = Field(description="A short title for the idea.")
    points: list[str] = Field(description="Two or three key points.")


class Thing(BaseModel):
    name: str = Field(description="A thing the plan needs.")


class ThingList(BaseModel):
    things: list[Thing] = Field(description="Two or three things.")


class ThingNote(BaseModel):
    note: str = Field(description="One sentence about the thing.")


class Notes(BaseModel):
    notes: list[ThingNote]


def _text(result: BaseModel) -> str:
    return document("Section", bullets([str(v) for v in result.model_dump().values()]))


def root(llm: LLMExecutor, *, plan: str) -> Idea:
    return llm.structured(Idea, "You name an idea.", user_prompt(plan=plan))


def middle(llm: LLMExecutor, *, plan: str, root: Idea) -> Idea:
    return llm.structured(Idea, "You refine an idea.", user_prompt(plan=plan, root=root.model_dump_json()))


def things(llm: LLMExecutor, *, plan: str) -> ThingList:
    return llm.structured(ThingList, "You list what a plan needs.", user_prompt(plan=plan))


def thing_note(llm: LLMExecutor, thing: Thing, *, middle: Idea) -> ThingNote:
    return llm.structured(ThingNote, "You describe one thing.", user_prompt(thing=thing.name, middle=middle.title))


def merge_notes(results: list[ThingNote]) -> Notes:
    return Notes(notes=results)


def leaf(llm: LLMExecutor, *, notes: Notes, middle: str) -> Idea:
    return llm.structured(Idea, "You conclude.", user_prompt(notes=notes.model_dump_json(), middle=middle))


def summary(*, root: str, leaf: str) -> str:
    return root + "\n" + leaf


class CraftedRoot(LLMStage):
    number, stem = 101, "crafted_root"
    inputs = {"plan": IDEA}
    execute, to_markdown = root, _text


class CraftedMiddle(LLMStage):
    number, stem = 102, "crafted_middle"
    inputs = {"plan": IDEA, "root": Input(CraftedRoot, "the idea to refine")}
    execute, to_markdown = middle, _text


class CraftedThings(LLMStage):
    number, stem = 103, "crafted_things"
    inputs = {"plan": IDEA}
    execute, to_markdown = things, _text


class CraftedThingItem(FanOutItem[Thing]):
    number, stem = 104, "crafted_thing_notes"
    result_model = ThingNote
    items_input = "things"
    inputs = {"things": Input(CraftedThings, "the list"), "middle": Input(CraftedMiddle, "the refined idea")}
    execute = thing_note

    def all_items(self):
        return self.read("things", ThingList).things


class CraftedThingNotes(FanOutMerge):
    item_task = CraftedThingItem
    execute, to_markdown = merge_notes, _text


class CraftedLeaf(LLMStage):
    number, stem = 105, "crafted_leaf"
    inputs = {"notes": Input(CraftedThingNotes, "the notes"), "middle": Input(CraftedMiddle, "its text")}
    execute, to_markdown = leaf, _text


class CraftedSummary(MarkdownStage):
    number, stem = 106, "crafted_summary"
    inputs = {"root": Input(CraftedRoot, "its text"), "leaf": Input(CraftedLeaf, "its text")}
    execute = summary


class CraftedEnd(PlanTask):
    number = 998
    files = {"done": "998-crafted_complete.txt"}
    inputs = {"summary": Input(CraftedSummary, "written last")}

    def run(self):
        self.write_text("done", "crafted plan complete\n")


CRAFTED = [CraftedRoot, CraftedMiddle, CraftedThings, CraftedThingItem, CraftedThingNotes, CraftedLeaf,
           CraftedSummary, CraftedEnd]
for _cls in CRAFTED:
    PLAN_TASKS.pop(_cls.task_family, None)


CRAFTED_GRAPH = PlanGraph.build(CraftedEnd)
PROMPT_TEXT = "Open a small bakery in Lyon with two founders and a wood-fired oven."
LLM = "simulated-instant"


def build_crafted(run_dir, workers: int = 1, **params) -> bool:
    """Make (or go on with) the crafted plan in this process, as Luigi's own command line would."""
    root = CraftedEnd(run_dir=str(run_dir), prompt=PROMPT_TEXT, llm=LLM, start_date="2027-01-04", **params)
    return luigi.build([root], workers=workers, local_scheduler=True, log_level="WARNING")


def revise_crafted(run_dir: Path) -> tuple[revision.Revision, set, int]:
    """Plan the revision, apply it and run the crafted plan again: (the revision, the tasks run as
    (family, item), the LLM calls made)."""
    found = revision.plan_revision(CRAFTED_GRAPH, str(run_dir))
    revision.apply(found, CRAFTED_GRAPH)
    started = time.time()
    assert build_crafted(run_dir)
    ran = {(e.task_family, e.item) for e in read_events(run_dir, TaskEvent)
           if e.is_end and e.status == "ok" and e.start >= started}
    calls = sum(1 for e in read_events(run_dir, LLMCallEvent) if e.ok and e.start >= started)
    return found, ran, calls


def copy_of(finished: Path, tmp_path: Path) -> Path:
    """A copy of a finished crafted plan, to revise without touching the original."""
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    return run_dir


def finished_crafted(tmp_path_factory, name: str) -> Path:
    """A crafted plan built once, for a test module's revisions of its copies."""
    run_dir = tmp_path_factory.mktemp(name) / "finished"
    assert build_crafted(run_dir)
    return run_dir


def crafted_files(run_dir: Path) -> dict[str, bytes]:
    """Every file of a crafted plan but its telemetry and records, by name relative to the folder."""
    return {p.relative_to(run_dir).as_posix(): p.read_bytes() for p in sorted(run_dir.rglob("*"))
            if p.is_file() and p.relative_to(run_dir).parts[0] not in ("telemetry", RECORDS_DIR)}
