"""What a task reads, declared once: the upstream task, which of its files, and why.

A task's `inputs` maps names to `Input`s. Everything else follows from that one mapping:

- `requires()`: one upstream task per name;
- how each input is read: the annotation of the stage function's parameter of the same name
  (`str` is the upstream's text file, a pydantic model its JSON validated as that model);
- the keywords the stage function is called with (the parameter names are the input names);
- the table of the graph's edges, each with its reason (`uses`), in docs/edges.md.

A task requires exactly what it reads: a stage function's parameter without an input, or an
input no parameter reads, fails when the task class is defined, not when a plan runs.
"""

from __future__ import annotations

import inspect
import json
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable, TypeVar

import luigi
from pydantic import BaseModel

from planexe_pipeline.errors import UnreadableOutput

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Input:
    """One edge of the graph, seen from the task that reads it."""

    task: type  # the upstream PlanTask
    uses: str  # what the reading prompt (or code) takes from it: the edge's reason
    output: str | None = None  # which of the upstream's outputs; default: its text, or its json for a model
    # For an upstream fan-out item: which item, from the reading task's own index.
    item: Callable[[int], int] | None = None


def read_output(target: luigi.LocalTarget) -> str:
    try:
        with target.open("r") as fh:
            return fh.read()
    except UnicodeDecodeError:
        raise UnreadableOutput(target.path) from None


Reader = Callable[[luigi.LocalTarget], str]


def read_model(target: luigi.LocalTarget, model: type[M], text_of: Reader = read_output) -> M:
    text = text_of(target)
    try:
        return model.model_validate_json(text)
    except ValueError:  # invalid JSON and schema violations (pydantic's ValidationError) alike
        raise UnreadableOutput(target.path) from None


def read_json(target: luigi.LocalTarget, text_of: Reader = read_output) -> Any:
    text = text_of(target)
    try:
        return json.loads(text)
    except ValueError:
        raise UnreadableOutput(target.path) from None


def read_as(targets: dict[str, luigi.LocalTarget], spec: Input, form: Any, text_of: Reader = read_output) -> Any:
    """An upstream's output in the form its reader declares: text, a model, or plain JSON.
    `text_of` reads a file (a task's reads go through its I/O, which notes what it read)."""
    if form is str:
        return text_of(targets[spec.output or spec.task.text_output])
    target = targets[spec.output or "json"]
    if isinstance(form, type) and issubclass(form, BaseModel):
        return read_model(target, form, text_of)
    return read_json(target, text_of)


@cache
def keyword_forms(fn: Callable, leading: int) -> tuple[tuple[str, Any], ...]:
    """(name, annotation) of each parameter of `fn` after the first `leading` ones (the LLM,
    the fan-out item): the inputs the function reads, in its own order."""
    hints = typing.get_type_hints(fn)
    params = list(inspect.signature(fn).parameters.values())[leading:]
    return tuple((p.name, hints.get(p.name, str)) for p in params)


def check_declaration(owner: str, fn: Callable, leading: int, inputs: dict[str, Input],
                      not_for_fn: tuple[str, ...] = ()) -> None:
    """The stage function reads every declared input, and nothing undeclared."""
    read = {name for name, _ in keyword_forms(fn, leading)}
    declared = set(inputs) - set(not_for_fn)
    if read - set(inputs):
        raise TypeError(f"{owner}: {fn.__qualname__} reads {sorted(read - set(inputs))}, which {owner} does not declare")
    if declared - read:
        raise TypeError(f"{owner} declares {sorted(declared - read)}, which {fn.__qualname__} does not read")
