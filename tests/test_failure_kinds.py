"""A failure is known by its kind, recorded in its task's telemetry line, not by its words."""

from __future__ import annotations

import pytest

from planexe_pipeline.errors import (ConfigError, InputError, LLMCallFailed, PromptUnusable, ProviderQuotaError,
                                     UnreadableOutput, failure_kind)
from planexe_pipeline.runner import _failure_line
from planexe_pipeline.telemetry import task_events
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import TaskEvent


class FakeTask:
    task_family, task_id = "PlanType", "PlanType_x"

    def __init__(self, run_dir):
        self.run_dir = str(run_dir)

    def telemetry_fields(self):
        return {"task_family": self.task_family, "task_id": self.task_id}

    def dependency_ids(self):
        return []


@pytest.mark.parametrize("exc, kind", [
    (LLMCallFailed("PlanType: every model failed"), "llm"), (ProviderQuotaError("model 'm' is out of quota"), "quota"),
    (UnreadableOutput("run/x/005-plan_type.json"), "unreadable"), (ConfigError("no window"), "config"),
    (InputError("bad date"), "input"), (ValueError("a bug"), "defect"),
])
def test_a_failed_tasks_line_records_the_kind_of_its_failure(tmp_path, exc, kind):
    task_events.record_failure(FakeTask(tmp_path), exc)
    (end,) = [e for e in read_events(tmp_path) if isinstance(e, TaskEvent)]
    assert end.error_kind == kind and failure_kind(kind).kind == kind


def test_the_run_names_the_stage_unless_the_failure_does_or_stands_for_the_run():
    def line(error, kind):
        return _failure_line(TaskEvent(event="end", task_family="PlanType", status="failed", error=error,
                                       error_kind=kind))

    assert line("every model failed", "llm") == "every model failed"  # its own message names the stage
    assert line("out of quota", ProviderQuotaError.kind) == "out of quota"
    assert line("unusable", PromptUnusable.kind) == "unusable"
    assert line("division by zero", "defect") == "PlanType: division by zero"
    assert line("PlanType looks named", None) == "PlanType: PlanType looks named", "words are not a kind"
