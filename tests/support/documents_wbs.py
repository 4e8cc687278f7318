"""A run folder for the documents and WBS groups, its upstream outputs written by hand, and the
fake LLM and WBS answers their tests share."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from planexe_pipeline.stages import wbs
from planexe_pipeline.stages.documents import Document
from support.files import plan_file
from planexe_pipeline.stages.wbs import Level1Answer, Level2TaskAnswer, PhaseAnswer, PhaseTasksAnswer

PROMPT = ("Open a sourdough bakery with a small cafe in Lyon, France. Budget 300,000 EUR, opening within "
          "nine months, supplying three restaurants with bread every morning.\n")
LLM = "simulated-instant"


class FakeLLM:
    """Stands for LLMExecutor: returns the given answer for each schema, and records the calls."""

    def __init__(self, *answers):
        self.answers = {type(a): a for a in answers}
        self.calls: list[tuple[type, str]] = []

    def structured(self, output_cls, system_prompt, user_prompt):
        self.calls.append((output_cls, user_prompt))
        return self.answers[output_cls]


# -- run folder with hand-written upstream outputs ------------------------------------------------
def upstream_folder(path: Path) -> str:
    """What Setup, ConsolidateAssumptions and ProjectPlan would have written."""
    files = {
        plan_file("Setup", "plan"): PROMPT,
        plan_file("Setup", "fingerprint"): json.dumps({"prompt_sha256": hashlib.sha256(PROMPT.encode()).hexdigest(),
                                                       "speed": "full", "start_date": "2026-01-05"}),
        plan_file("ConsolidateAssumptions", "md"): "## Assumptions\n\n- The bakery rents a 120 m2 shop in Croix-Rousse.\n",
        plan_file("ProjectPlan"): "{}",
        plan_file("ProjectPlan", "md"): "## Project plan\n\n- Lease premises, fit out the bakery, hire two bakers.\n",
    }
    for name, text in files.items():
        (path / name).write_text(text, encoding="utf-8")
    return str(path)


def write_model(path: Path, model) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(model.model_dump_json(indent=2), encoding="utf-8")


def docs(prefix: str, n: int) -> list[Document]:
    kind = "find" if prefix == "DF" else "create"
    return [Document(id=f"{prefix}-{i}", kind=kind, title=f"Document {prefix}-{i}", description="What it settles.",
                     source_or_owner="City of Lyon") for i in range(1, n + 1)]


def item_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def wbs_answers():
    """Level 1's answer, and each phase's level-2 answer by phase id (the third phase gets none)."""
    level1 = Level1Answer(project_title="Bakery", final_deliverable="An open bakery", phases=[
        PhaseAnswer(title="T-7 Permits", description="Permits granted"),
        PhaseAnswer(title="Fit-out", description="Kitchen ready"),
        PhaseAnswer(title="Launch", description="Doors open"),
    ])
    level2 = {
        "T-1": PhaseTasksAnswer(tasks=[Level2TaskAnswer(title="File the permit", description="d"),
                                       Level2TaskAnswer(title=" ", description="no title: dropped"),
                                       Level2TaskAnswer(title="Order flour", description="d"),
                                       Level2TaskAnswer(title="Meet the inspector", description="d")]),
        "T-2": PhaseTasksAnswer(tasks=[Level2TaskAnswer(title="T-9.9 Install the oven", description="d"),
                                       Level2TaskAnswer(title="Paint the shop", description="d")]),
        "T-3": PhaseTasksAnswer(tasks=[]),
    }
    return level1, level2


def project12():
    a1, a2 = wbs_answers()
    level1 = wbs.number_phases(a1)
    items = [wbs.execute_level2(FakeLLM(a2[phase.id]), phase, plan=PROMPT, project_plan="plan", level1=level1)
             for phase in level1.phases]
    return wbs.build_project12(items, level1)
