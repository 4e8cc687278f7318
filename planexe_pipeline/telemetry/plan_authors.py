"""Which models wrote a plan, read from its telemetry: what the report, plan.md and timeline say.

Every answer a plan kept is an `llm_call` line with status ok, naming the model entry, the API
its class speaks and the model as the provider knows it. A plan names the models as a reader knows them (the
provider's name for the model, not the entry's name in our config, which is local to whoever ran
it), so the same model under two entry names writes the same plan. A plan made by the offline
simulator says so where it is shown, so that nobody forwards simulated text as a
plan. Where no answer was recorded (a folder copied without its telemetry), the models the run
lines asked for are named. The wording lives here, once, so the report and the timeline say the
same thing.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

from planexe_pipeline.telemetry.event_log import of_kind, read_events
from planexe_pipeline.telemetry.events import Event, LLMCallEvent, RunEvent

# The API the simulator's class speaks (llm/config.py); lines written before the field named the
# API name the class instead.
SIMULATOR_APIS = ("planexe.simulator", "Simulated")
SIMULATOR_LABEL = "the offline simulator"
NOTICE_TITLE = "Simulated text"
SIMULATED_NOTICE = ("The offline simulator wrote {what}, from the prompt's own words and figures, to show what "
                    "the pipeline produces. It is not a plan to act on: run the prompt with a real model (--llm) "
                    "for one.")


@dataclass(frozen=True)
class ModelUsed:
    label: str  # the model as a reader should know it: the provider's name for it, or the offline simulator
    answers: int = 0


def model_label(name: str, api: str | None, request_model: str | None) -> str:
    """The model as the provider knows it, with the API it was asked over ('gpt-4o-mini (openai
    API)'), else the entry's name; every simulator entry is the one offline simulator, whatever its
    latency."""
    if api in SIMULATOR_APIS:
        return SIMULATOR_LABEL
    return f"{request_model or name} ({api} API)" if api else (request_model or name)


@dataclass(frozen=True)
class PlanAuthors:
    models: tuple[ModelUsed, ...] = ()

    @property
    def simulated(self) -> bool:
        return any(m.label == SIMULATOR_LABEL for m in self.models)

    def line(self) -> str:
        """Each model that answered, most answers first: 'the offline simulator', 'gpt-4o-mini (openai API)'."""
        return "; ".join(m.label for m in self.models) or "not recorded"

    def notice(self) -> str | None:
        """The warning a plan carries where the simulator wrote any of it, else None."""
        if not self.simulated:
            return None
        what = "this plan" if len(self.models) == 1 else "part of this plan"
        return SIMULATED_NOTICE.format(what=what)


def plan_authors(events: list[Event]) -> PlanAuthors:
    answered = Counter(model_label(e.model, e.provider, e.request_model) for e in of_kind(events, LLMCallEvent)
                       if e.ok and e.model)
    if answered:
        ranked = sorted(answered.items(), key=lambda item: (-item[1], item[0]))
        return PlanAuthors(tuple(ModelUsed(label, count) for label, count in ranked))
    asked = dict.fromkeys(name for run in of_kind(events, RunEvent) for name in run.models)
    return PlanAuthors(tuple(ModelUsed(name) for name in asked))


def read_plan_authors(run_dir: str | os.PathLike) -> PlanAuthors:
    return plan_authors(read_events(run_dir, LLMCallEvent) + read_events(run_dir, RunEvent))
