"""The plan's graph, built once from the stages' declarations: the one walker of the package.

Each stage declares its number and stem, what it reads (`inputs`, tasks/inputs.py) and in which
form (its stage function's annotations), its answer model, its fan-out, its report section; its
latency comes from the latency model. `PlanGraph.build(root)` walks those declarations from a
root once and checks them: a stage that reads an input as another type than its producer writes,
or two stages sharing a number or a stem, fail here, naming both. Luigi's `requires()`, the
priorities, the status's expected work, docs/edges.md, the integrity check on resume and the
revision of a finished plan are all views of it (`instances()` is the graph of one run folder,
fan-outs as wide as their lists).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable, Iterable, Mapping

from pydantic import BaseModel

from planexe_pipeline.dag import heaviest_to_end
from planexe_pipeline.latency import expected_seconds
from planexe_pipeline.report.sections import Section
from planexe_pipeline.tasks.base import LLMStage, LLMTask, MarkdownStage, PlanTask
from planexe_pipeline.tasks.fanout import FanOutItem, FanOutMerge
from planexe_pipeline.tasks.inputs import Input, keyword_forms

Key = tuple[str, "int | None"]  # one task of a run: (family, fan-out index or None)
READS, ITEMS, MERGE_READS = "reads", "items", "merge reads"


class GraphError(TypeError):
    """A declaration the graph cannot be built from; the message names the stages concerned."""


@dataclass(frozen=True)
class Edge:
    task: str  # the reading task's family
    upstream: str
    name: str  # the input's name in the reader's declaration
    uses: str  # what the reader takes from it
    kind: str  # READS, ITEMS (a merge runs its items) or MERGE_READS (yielded with the items)
    form: Any = None  # how it is read: str (the text), a pydantic model or dict (the JSON); None: in code of its own
    spec: Input | None = None


@dataclass(frozen=True)
class StageNode:
    cls: type[PlanTask]
    edges: tuple[Edge, ...]
    answer: type[BaseModel] | None  # the model its JSON holds, where known
    llm: bool
    expected_s: float  # the latency model's seconds of its own LLM call; 0 for our own code
    reads: dict[str, Input]  # what requires() returns, by name, in the declaration's order

    @property
    def family(self) -> str:
        return self.cls.task_family

    @property
    def number(self) -> int:
        return self.cls.number

    @property
    def section(self) -> Section | None:
        return vars(self.cls).get("section")

    @property
    def fan_out_item(self) -> bool:
        return issubclass(self.cls, FanOutItem)

    @property
    def kind(self) -> str:
        if self.fan_out_item:
            return "LLM, one per item"
        if issubclass(self.cls, FanOutMerge):
            return "merge"
        return "LLM" if self.llm else "code"

    def stage_name(self) -> str:
        """A fan-out's items and its merge are one stage: they share a number and a stem. Tasks
        that declare one `step` (the export formats) are one stage too: they share its number."""
        step = getattr(self.cls, "step", None)
        if step:
            return step
        if issubclass(self.cls, FanOutMerge) and self.cls.stem == self.cls.item_task.stem:
            return self.cls.item_task.task_family
        return self.family


def answer_model(cls: type[PlanTask]) -> type[BaseModel] | None:
    """The model a task's JSON holds: declared (`answer`), an item's `result_model`, or the return
    annotation of its stage function."""
    declared = getattr(cls, "answer", None)
    if declared is not None:
        return declared
    if issubclass(cls, FanOutItem):
        return cls.result_model
    execute = getattr(cls, "execute", None)
    if execute is None or issubclass(cls, MarkdownStage):
        return None
    returned = typing.get_type_hints(execute).get("return")
    # A function that serves several stages says BaseModel: the stage declares its own `answer`.
    return returned if isinstance(returned, type) and issubclass(returned, BaseModel) and returned is not BaseModel \
        else None


def _forms(cls: type[PlanTask]) -> dict[str, Any]:
    execute = getattr(cls, "execute", None)
    if execute is None:
        return {}
    leading = 2 if issubclass(cls, FanOutItem) else 1 if issubclass(cls, (LLMStage, FanOutMerge)) else 0
    return dict(keyword_forms(execute, leading))


def _edges(cls: type[PlanTask]) -> tuple[Edge, ...]:
    forms = _forms(cls)
    family = cls.task_family
    edges = [Edge(family, spec.task.task_family, name, spec.uses, READS, forms.get(name), spec)
             for name, spec in cls.declared_inputs().items()]
    if issubclass(cls, FanOutMerge):
        edges.append(Edge(family, cls.item_task.task_family, "items", "every item, merged in index order", ITEMS,
                          cls.item_task.result_model))
        edges += [Edge(family, spec.task.task_family, name, spec.uses, MERGE_READS, forms.get(name), spec)
                  for name, spec in cls.merge_inputs.items()]
    return tuple(edges)


@cache
def stage_node(cls: type[PlanTask]) -> StageNode:
    """The node of one task class, its edges checked against what each producer writes."""
    edges = _edges(cls)
    for edge in edges:
        _check_form(edge, edge.spec.task if edge.spec else cls.item_task)
    return StageNode(cls, edges, answer_model(cls), issubclass(cls, LLMTask),
                     expected_seconds(cls.stem) if issubclass(cls, LLMTask) else 0.0,
                     {e.name: e.spec for e in edges if e.kind == READS})


def _check_form(edge: Edge, producer: type[PlanTask]) -> None:
    form = edge.form
    output = edge.spec.output if edge.spec else None
    if form is str:
        if (output or producer.text_output) not in producer.files and not issubclass(producer, FanOutItem):
            raise GraphError(f"{edge.task} reads {edge.upstream}'s text as '{edge.name}', but {edge.upstream} "
                             f"writes no {output or producer.text_output} file")
    elif isinstance(form, type) and issubclass(form, BaseModel) and not output:
        written = answer_model(producer)
        if written is not None and not issubclass(written, form):
            raise GraphError(f"{edge.task} reads '{edge.name}' from {edge.upstream} as {form.__name__}, but "
                             f"{edge.upstream} writes {written.__name__}: make the reader's annotation the "
                             "producer's model")


class PlanGraph:
    """Every stage a root depends on, in file-number order, with the edges between them."""

    def __init__(self, nodes: dict[str, StageNode]):
        self.nodes = nodes
        self.deps: dict[str, tuple[str, ...]] = {
            family: tuple(dict.fromkeys(e.upstream for e in node.edges)) for family, node in nodes.items()}
        self.dependents: dict[str, set[str]] = {family: set() for family in nodes}
        for family, deps in self.deps.items():
            for dep in deps:
                self.dependents[dep].add(family)

    @classmethod
    def build(cls, root: type[PlanTask]) -> "PlanGraph":
        found: dict[str, StageNode] = {}
        todo = [root]
        while todo:
            task_cls = todo.pop()
            if task_cls.task_family not in found:
                node = found[task_cls.task_family] = stage_node(task_cls)
                todo += [e.spec.task if e.spec else task_cls.item_task for e in node.edges]
        ordered = sorted(found.values(), key=lambda n: (n.number, issubclass(n.cls, FanOutMerge), n.family))
        _check_names(ordered)
        return cls({node.family: node for node in ordered})

    def edges(self) -> Iterable[Edge]:
        return (edge for node in self.nodes.values() for edge in node.edges)

    def upstream_of(self, family: str) -> set[str]:
        return closure(family, self.deps)

    def downstream_of(self, family: str) -> set[str]:
        return closure(family, self.dependents)

    def remaining_seconds(self) -> dict[str, float]:
        """Expected seconds from each stage's start to the end of the plan: its priority."""
        return heaviest_to_end({f: n.expected_s for f, n in self.nodes.items()},
                               [(dep, f) for f, deps in self.deps.items() for dep in deps])

    def instances(self, run_dir: str, guess: Callable[[FanOutItem, list[int]], int] | None = None) -> "RunGraph":
        """The tasks of one run folder and their edges, each fan-out as wide as its list; where the
        list cannot be read yet, as wide as `guess(item, the widths of the lists read)` says
        (without one, the error is raised)."""
        widths: dict[str, int] = {}
        unwritten: list[FanOutItem] = []
        for family, node in self.nodes.items():
            if node.fan_out_item:
                probe = node.cls(run_dir=run_dir, index=0)
                try:
                    widths[family] = len(probe.items())
                except Exception:  # the list is not written yet (or not readable yet)
                    if guess is None:
                        raise
                    unwritten.append(probe)
        known = list(widths.values())
        for probe in unwritten:
            widths[probe.task_family] = guess(probe, known)
        deps: dict[Key, tuple[Key, ...]] = {}
        for family, node in self.nodes.items():
            indexes: list[int | None] = list(range(widths[family])) if node.fan_out_item else [None]
            for index in indexes:
                deps[(family, index)] = tuple(dict.fromkeys(k for e in node.edges for k in self._keys(e, index, widths)))
        return RunGraph(self, deps, [self.merge_of(probe.task_family) for probe in unwritten])

    def merge_of(self, item_family: str) -> str:
        return next((f for f, n in self.nodes.items() if any(e.kind == ITEMS and e.upstream == item_family
                                                              for e in n.edges)), item_family)

    def _keys(self, edge: Edge, index: int | None, widths: dict[str, int]) -> list[Key]:
        if edge.kind == ITEMS:
            return [(edge.upstream, i) for i in range(widths[edge.upstream])]
        if edge.spec is not None and edge.spec.item is not None:
            return [(edge.upstream, edge.spec.item(index))]
        return [(edge.upstream, None)]


@dataclass
class RunGraph:
    """The tasks of one run folder: (family, index) -> the tasks it reads."""

    plan: PlanGraph
    deps: dict[Key, tuple[Key, ...]]
    estimated: list[str]  # merges of fan-outs whose width was guessed, not read from their list

    def dependents(self) -> dict[Key, set[Key]]:
        found: dict[Key, set[Key]] = {key: set() for key in self.deps}
        for key, deps in self.deps.items():
            for dep in deps:
                found.setdefault(dep, set()).add(key)
        return found

    def downstream_of(self, keys: Iterable[Key]) -> set[Key]:
        """Every task that reads one of `keys`, directly or not (the keys not included)."""
        dependents, found, todo = self.dependents(), set(), list(keys)
        while todo:
            for dependent in dependents.get(todo.pop(), ()):
                if dependent not in found:
                    found.add(dependent)
                    todo.append(dependent)
        return found

    def task(self, key: Key, run_dir: str) -> PlanTask:
        family, index = key
        cls = self.plan.nodes[family].cls
        return cls(run_dir=run_dir) if index is None else cls(run_dir=run_dir, index=index)


PlanTask.node_of = staticmethod(stage_node)


def closure(start: str, links: Mapping[str, Iterable[str]]) -> set[str]:
    """Every name reached from `start` through `links` (its deps: upstream; its dependents: downstream)."""
    seen, todo = set(), [start]
    while todo:
        for other in links[todo.pop()]:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def _check_names(nodes: list[StageNode]) -> None:
    """No two stages share a number or a stem (a fan-out's items and merge are one stage)."""
    for what, of in (("number", lambda n: n.cls.number), ("stem", lambda n: getattr(n.cls, "stem", None))):
        owners: dict[Any, str] = {}
        for node in nodes:
            value = of(node)
            if value is None:
                continue
            stage = node.stage_name()
            if owners.setdefault(value, stage) != stage:
                raise GraphError(f"{owners[value]} and {node.family} share the {what} {value!r}: "
                                 f"give {node.family} a {what} of its own")
