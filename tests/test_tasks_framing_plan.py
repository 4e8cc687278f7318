"""Framing, assumptions and plan tasks: the Luigi chain up to the project plan."""

from __future__ import annotations

import luigi

from planexe_pipeline.tasks.base import PLAN_TASKS
from planexe_pipeline.tasks.fanout import FanOutItem
from planexe_pipeline.tasks.plan import ProjectPlan
from support.bakery_prompt import PROMPT, mentions_prompt
from support.graph import task_class, walk


def test_task_modules_export_their_tasks():
    from planexe_pipeline.tasks import assumptions, framing, plan

    modules = {module.__name__ for module in (framing, assumptions, plan)}
    exported = {name for module in (framing, assumptions, plan) for name in module.__all__}
    assert exported == {name for name, cls in PLAN_TASKS.items() if cls.__module__ in modules}


def test_luigi_run_writes_every_file_of_the_chain(tmp_path):
    task = ProjectPlan(run_dir=str(tmp_path), prompt=PROMPT, llm="simulated-instant")
    assert luigi.build([task], workers=4, local_scheduler=True)
    chain = [task_class(family) for family in walk(task)]
    assert {"SelectScenario", "EnrichLevers", "PreProjectAssessment", "ProjectPlanOutline"} <= {c.__name__ for c in chain}
    expected = {name for cls in chain if not issubclass(cls, FanOutItem) for name in cls.files.values()}
    written = {p.name for p in tmp_path.iterdir()}
    assert expected <= written
    for cls in chain:
        if issubclass(cls, FanOutItem):
            assert (tmp_path / cls.stage_dir / "item-000.json").is_file(), cls.__name__
    for name in sorted(expected):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert text.strip(), name
        if name.endswith(".md"):
            assert mentions_prompt(text), name
