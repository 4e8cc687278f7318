"""A model per stage: the `routes` of llm_config.json, checked against the plan's own stages, and
the money a run is expected to cost on the models its calls go to.

A route's key is a stage that calls a model (its task family: `ExecutiveSummary`,
`EnrichLeverItem`) or a group of stages (the module that defines them: `synthesis`, `team`); a
stage's own route stands over its group's, and a call no route names goes to the run's --llm. The
tasks read the routes themselves (tasks/base.py LLMTask.route); this module checks them before a
run writes anything, and prices a plan before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass

import planexe_pipeline.tasks  # noqa: F401 - registers every task, so every stage and group is known
from planexe_pipeline import defaults
from planexe_pipeline.errors import ConfigError
from planexe_pipeline.llm.config import ModelEntry, resolve_models
from planexe_pipeline.tasks.base import PLAN_TASKS, LLMTask


def llm_stages() -> dict[str, str]:
    """Each task family that calls a model -> its group."""
    return {family: cls.group for family, cls in PLAN_TASKS.items() if issubclass(cls, LLMTask)}


def check_routes(routes: dict[str, tuple[str, ...]], config: dict[str, ModelEntry]) -> None:
    """Every route names a stage or group of the plan, and models that can be called."""
    stages = llm_stages()
    groups = set(stages.values())
    for key, names in routes.items():
        if key not in stages and key not in groups:
            raise ConfigError(f"route '{key}' names no stage or group of the plan that calls a model: use a stage "
                              f"({', '.join(sorted(stages)[:4])}, ...) or a group ({', '.join(sorted(groups))})")
        resolve_models(list(names), config)


def route_of(family: str, routes: dict[str, tuple[str, ...]], default: list[str]) -> tuple[str | None, list[str]]:
    """(route, models) for a stage's calls, as the task takes them (LLMTask.route)."""
    group = llm_stages().get(family)
    for key in (family, group):
        if key in routes:
            return key, list(routes[key])
    return None, default


@dataclass(frozen=True)
class Projection:
    usd: float | None  # None: some call would go to a model without a price
    calls: int
    unpriced: list[str]  # the models without a price


def project(calls_by_stage: dict[str, int], routes: dict[str, tuple[str, ...]], default: list[str],
            config: dict[str, ModelEntry]) -> Projection:
    """What these calls are expected to cost, each at the standard workload's tokens per call on
    the first model of its route (a fallback is not expected to answer)."""
    total, unpriced = 0.0, []
    for family, calls in calls_by_stage.items():
        name = route_of(family, routes, default)[1][0]
        pricing = config[name].price()
        cost = pricing.cost(input_tokens=defaults.STANDARD_CALL_INPUT_TOKENS,
                            output_tokens=defaults.STANDARD_CALL_OUTPUT_TOKENS,
                            cached_input_tokens=round(defaults.STANDARD_CALL_INPUT_TOKENS
                                                      * defaults.STANDARD_CACHED_SHARE))
        if cost is None:
            unpriced.append(name)
        else:
            total += cost * calls
    return Projection(None if unpriced else total, sum(calls_by_stage.values()), sorted(set(unpriced)))
