"""MCP tools that revise a plan: plan_edit writes one file of it (checked as a rerun checks a
person's edit), plan_redo asks one stage again with a remark or another model. Both say what a run
then redoes; plan_redo queues that run, after plan_edit plan_resume does (tasks/revision.py)."""

from __future__ import annotations

from typing import Annotated, Any, Callable

from pydantic import Field

from planexe_pipeline import run_settings
from planexe_pipeline.errors import InputError
from planexe_pipeline.mcp_server.safety import check_models, file_in_run, run_folder, shown
from planexe_pipeline.pipeline import PLAN
from planexe_pipeline.settings import mcp
from planexe_pipeline.tasks import revision

LISTED = 25  # the tasks to redo named in an answer, at most
BUSY = ("queued", "starting", "running", "stalled")

RunId = Annotated[str, Field(description="A run id that plan_create or plan_list returned.")]


def revision_facts(found: revision.Revision | None) -> dict[str, Any]:
    """What a run of a folder would redo, for an agent: the counts, the edits, the tasks by name."""
    if found is None:
        return {"edited": [], "redo_tasks": 0, "redo_llm_calls": 0, "redo": []}
    names = [family if item is None else f"{family}[{item}]" for family, item in found.redo]
    return {"edited": found.edited_files, "redo_tasks": len(found.redo), "redo_llm_calls": found.llm_calls,
            "redo": names[:LISTED], "notes": found.notes()}


def add_revision_tools(server, root, views, llm_config: str | None, *, refusals: Callable,
                       resume: Callable[[str], dict[str, Any]]) -> None:
    def revisable(run_id: str):
        state = views.status(run_id)["state"]
        if state in BUSY:
            raise InputError(f"run {run_id} is {state}: revise it once it is done, failed or stopped "
                             "(plan_wait for it, or plan_stop it)")
        return run_folder(root.path, run_id)

    @server.tool()
    @refusals
    def plan_edit(
        run_id: RunId,
        name: Annotated[str, Field(description="A file of the plan that a step writes, e.g. "
                                               "'012-select_scenario.json' (plan_file with name '.' lists them).")],
        content: Annotated[str, Field(description="The file's whole new text. A JSON file must still fit its "
                                                  "stage's answer (the edit is refused otherwise, naming the field).")],
    ) -> dict[str, Any]:
        """Write one file of a finished, failed or stopped plan, as a person edits it by hand: checked
        against its stage's answer before it is written, and kept by later runs. Returns what a run would
        then redo (redo_tasks, redo_llm_calls, redo: the tasks); plan_resume runs it."""
        run_dir = revisable(run_id)
        path = file_in_run(run_dir, name)
        if len(content.encode("utf-8")) > mcp().max_file_bytes:
            raise InputError(f"content has more than {mcp().max_file_bytes} bytes: edit a file of a plan, not a book")
        found = revision.edit(PLAN, str(run_dir), path.relative_to(run_dir).as_posix(), content)
        return {"run_id": run_id, "file": shown(name), **revision_facts(found),
                "hint": "plan_resume redoes what depends on the edit" if found.redo else "nothing reads it"}

    @server.tool()
    @refusals
    def plan_redo(
        run_id: RunId,
        stage: Annotated[str, Field(description="The stage: its task (SWOTAnalysis), file stem (swot_analysis) "
                                                "or number (038).")],
        item: Annotated[int | None, Field(description="Of a fan-out: only its item, from 0.")] = None,
        note: Annotated[str | None, Field(description="A remark added to the stage's prompt, and shown in the "
                                                      "report (e.g. 'keep the budget under 2 M EUR').")] = None,
        model: Annotated[str | None, Field(description="Ask this model (from the models tool) for this stage.")] = None,
    ) -> dict[str, Any]:
        """Ask one stage (or one fan-out item) of a plan again, with a remark or another model, and queue
        the run that redoes it and what depends on it. Returns the plan's status and what is redone."""
        run_dir = revisable(run_id)
        if isinstance(item, bool) or (item is not None and (not isinstance(item, int) or item < 0)):
            raise InputError(f"item must be a whole number from 0, got {shown(item)}")
        keys = revision.redo_targets(PLAN, str(run_dir), stage, item)
        if model is not None:
            check_models([model], llm_config)
            settings = run_settings.recorded(run_dir, llm_config)
            if settings is None:
                raise InputError(f"run {run_id} recorded no settings: resume it once before asking a stage again")
            run_settings.record(run_dir, settings.with_model(model, llm_config))
        revision.ask_again(PLAN, str(run_dir), keys, remark=note, model=model)
        redone = revision_facts(revision.plan_revision(PLAN, str(run_dir)))
        return {**resume(run_id), "redone": redone}
