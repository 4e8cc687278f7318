"""Framing, assumptions and plan tasks: the Luigi chain up to the project plan."""

from __future__ import annotations

import luigi

from planexe_pipeline.tasks.assumptions import (ConsolidateAssumptions, CurrencyStrategy, DistillAssumptions,
                                                IdentifyRisks, MakeAssumptions, PhysicalLocations, ReviewAssumptions)
from planexe_pipeline.tasks.framing import (CandidateScenarios, DeduplicateLevers, EnrichLevers, IdentifyPurpose,
                                            PlanType, PotentialLevers, ScenariosMarkdown, SelectScenario,
                                            StrategicDecisionsMarkdown, VitalFewLevers)
from planexe_pipeline.tasks.plan import PreProjectAssessment, ProjectPlan
from support.bakery_prompt import PROMPT, mentions_prompt

CHAIN = (IdentifyPurpose, PlanType, PotentialLevers, DeduplicateLevers, EnrichLevers, VitalFewLevers,
         StrategicDecisionsMarkdown, CandidateScenarios, SelectScenario, ScenariosMarkdown, PhysicalLocations,
         CurrencyStrategy, IdentifyRisks, MakeAssumptions, DistillAssumptions, ReviewAssumptions,
         ConsolidateAssumptions, PreProjectAssessment, ProjectPlan)


def test_task_modules_export_their_tasks():
    from planexe_pipeline.tasks import assumptions, framing, plan

    exported = {name for module in (framing, assumptions, plan) for name in module.__all__}
    assert exported == {cls.__name__ for cls in CHAIN}


def test_luigi_run_writes_every_file_of_the_chain(tmp_path):
    task = ProjectPlan(run_dir=str(tmp_path), prompt=PROMPT, llm="simulated-instant")
    assert luigi.build([task], workers=4, local_scheduler=True)
    names = {p.name for p in tmp_path.iterdir()}
    expected = {name for cls in CHAIN for name in cls.files.values()}
    assert expected <= names
    numbers = {int(n[:3]) for n in names if n[:3].isdigit()}
    assert set(range(2, 21)) <= numbers
    for name in sorted(expected):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert text.strip(), name
        if name.endswith(".md"):
            assert mentions_prompt(text), name
