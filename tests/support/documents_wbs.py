"""A run folder for the documents and WBS groups, its upstream outputs written by hand, and the
fake LLM and WBS answers their tests share."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from planexe_pipeline.stages import wbs
from planexe_pipeline.stages.documents import Document
from planexe_pipeline.stages.wbs import Level1Answer, Level2Answer, Level2TaskAnswer, PhaseAnswer

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
    """What Setup, ConsolidateAssumptions, ProjectPlan and DataCollection would have written."""
    files = {
        "001-plan.txt": PROMPT,
        "001-plan_fingerprint.json": json.dumps({"prompt_sha256": hashlib.sha256(PROMPT.encode()).hexdigest(),
                                                 "speed": "full", "start_date": "2026-01-05"}),
        "018-consolidate_assumptions.md": "## Assumptions\n\n- The bakery rents a 120 m2 shop in Croix-Rousse.\n",
        "020-project_plan.json": "{}",
        "020-project_plan.md": "## Project plan\n\n- Lease premises, fit out the bakery, hire two bakers.\n",
        "039-data_collection.json": "{}",
        "039-data_collection.md": "## Data collection\n\n- Footfall counts and shop rents in Lyon.\n",
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
    level1 = Level1Answer(project_title="Bakery", final_deliverable="An open bakery", phases=[
        PhaseAnswer(title="T-7 Permits", description="Permits granted"),
        PhaseAnswer(title="Fit-out", description="Kitchen ready"),
        PhaseAnswer(title="Launch", description="Doors open"),
    ])
    level2 = Level2Answer(tasks=[
        Level2TaskAnswer(phase_id="T-2", title="T-9.9 Install the oven", description="d"),
        Level2TaskAnswer(phase_id="t-1", title="File the permit", description="d"),
        Level2TaskAnswer(phase_id="Phase X", title="Order flour", description="d"),  # unknown: previous phase (T-1)
        Level2TaskAnswer(phase_id="T-2", title="Paint the shop", description="d"),
        Level2TaskAnswer(phase_id="T-1", title="Meet the inspector", description="d"),
    ])
    return level1, level2


def project12():
    a1, a2 = wbs_answers()
    level1 = wbs.number_phases(a1)
    return wbs.build_project12(level1, wbs.map_level2(level1, a2))

