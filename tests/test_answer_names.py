"""A Luigi task and a pydantic answer never share a name (the answer is `<Stage>Answer`), and an
answer renamed apart from its task is still known to models by its old name."""

from __future__ import annotations

import importlib
import pkgutil

import luigi
from pydantic import BaseModel

import planexe_pipeline.stages
import planexe_pipeline.tasks
from planexe_pipeline.llm.structured import answer_name


def classes_in(package, kind: type) -> dict[str, type]:
    modules = [importlib.import_module(m.name) for m in pkgutil.iter_modules(package.__path__, package.__name__ + ".")]
    return {cls.__name__: cls for module in modules for cls in vars(module).values()
            if isinstance(cls, type) and issubclass(cls, kind) and cls.__module__ == module.__name__}


TASKS = classes_in(planexe_pipeline.tasks, luigi.Task)
ANSWERS = classes_in(planexe_pipeline.stages, BaseModel)


def test_no_task_and_answer_share_a_name():
    assert TASKS and ANSWERS
    assert sorted(TASKS.keys() & ANSWERS.keys()) == []


def test_answers_renamed_apart_from_their_tasks_keep_the_names_models_know():
    # The answers once named as their tasks: a model is still told the old name (the schema's
    # title), so prompts, and the simulator's plans, did not change with the rename.
    renamed = ("DataCollectionOutline", "DirectiveAdherence", "DurationEstimates", "PhysicalLocations", "Pitch",
               "PreProjectAssessment", "ProjectPlanOutline", "TaskDependencies", "WBSLevel1")
    told = {name: (ANSWERS[name + "Answer"].model_json_schema()["title"], answer_name(ANSWERS[name + "Answer"]))
            for name in renamed}
    assert told == {name: (name, name) for name in renamed}
