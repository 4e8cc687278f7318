"""Luigi's internals are reached through one door (two modules), and a Luigi that changed shape is named.

Each member of Luigi the project relies on (luigi_relied_on.RELIED_ON) must exist, take the
parameters our override or call gives it, and be called by Luigi's own code where our override
relies on being called; every override of a Luigi member lives in luigi_internals.py and is listed
in luigi_relied_on.py, and no other module reaches past Luigi's public API.
Run against another Luigi: `PYTHONPATH=<folder holding a luigi/> pytest tests/test_luigi_internals.py`.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Any

import luigi
import luigi.rpc
import luigi.scheduler
import luigi.worker

import planexe_pipeline
from planexe_pipeline import luigi_internals, luigi_relied_on
from planexe_pipeline.luigi_relied_on import (
    COMPLETE_FAILED, GET_WORK_FIELDS, LUIGI_LOGGER, PARAMETER_ATTRIBUTES, RELIED_ON, REMOTE_SCHEDULER_ATTRIBUTES,
    SCHEDULED_TASK_ATTRIBUTES, SCHEDULER_ATTRIBUTES, SCHEDULER_SETTINGS, SCHEDULER_WORKER_ATTRIBUTES, TASK_FAILED,
    TASK_PROCESS_MEMBERS, WORKER_ATTRIBUTES, WORKER_SETTINGS, Relied,
)
from planexe_pipeline.worker_pool import PooledTaskProcess

PACKAGE = Path(planexe_pipeline.__file__).parent
DOOR = (PACKAGE / "luigi_internals.py", PACKAGE / "luigi_relied_on.py")  # the hooks, and what they rely on
LUIGI_PRIVATE_ATTRIBUTES = set(WORKER_ATTRIBUTES + SCHEDULER_ATTRIBUTES + REMOTE_SCHEDULER_ATTRIBUTES) - {"worker_processes"}
CATCH_ALL = ("**kwargs",)


def name_of(owner: object) -> str:
    return getattr(owner, "__name__", str(owner))


def missing_members(worker: Any = None, scheduler: Any = None, remote: Any = None) -> list[str]:
    """Each member this project relies on that the installed Luigi lacks, by its dotted name.
    A scheduler given is added a task, to look at what it holds of a task and a worker."""
    found = [f"{name_of(r.owner)}.{r.name}" for r in luigi_relied_on.RELIED_ON if not hasattr(r.owner, r.name)]
    for instance, members in ((worker, WORKER_ATTRIBUTES), (scheduler, SCHEDULER_ATTRIBUTES),
                              (remote, REMOTE_SCHEDULER_ATTRIBUTES)):
        if instance is not None:
            found += [f"{type(instance).__mro__[-2].__name__}.{m}" for m in members if not hasattr(instance, m)]
    if remote is not None and not hasattr(getattr(remote, "_fetcher", None), "raises"):
        found.append("RemoteScheduler._fetcher.raises")
    if scheduler is not None and hasattr(scheduler, "_state"):
        scheduler.add_task(task_id="luigi-internals-check", worker="luigi-internals-check")
        task = scheduler._state.get_task("luigi-internals-check")
        found += [f"scheduler.Task.{m}" for m in SCHEDULED_TASK_ATTRIBUTES if not hasattr(task, m)]
        found += [f"scheduler.Worker.{m}" for w in scheduler._state.get_active_workers()
                  for m in SCHEDULER_WORKER_ATTRIBUTES if not hasattr(w, m)]
    process = luigi.worker.TaskProcess(luigi.Task(), "luigi-internals-check", None, None)
    found += [f"TaskProcess.{m}" for m in TASK_PROCESS_MEMBERS if not hasattr(process, m)]
    found += [f"GetWorkResponse.{f}" for f in GET_WORK_FIELDS if f not in luigi.worker.GetWorkResponse._fields]
    found += [f"worker.{s}" for s in WORKER_SETTINGS if not hasattr(luigi.worker.worker, s)]
    found += [f"scheduler.{s}" for s in SCHEDULER_SETTINGS if not hasattr(luigi.scheduler.scheduler, s)]
    found += [f"Parameter.{m}" for m in PARAMETER_ATTRIBUTES if not hasattr(luigi.Parameter(default=""), m)]
    return found


def parameters_of(function) -> tuple[str, ...]:
    """Its parameters after self, "*args" and "**kwargs" marked as such (an RPC method's: the method's)."""
    marks = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
    names = [marks.get(p.kind, "") + p.name for p in inspect.signature(function).parameters.values()]
    return tuple(names[1:] if names[:1] == ["self"] else names)


def calls_in(where: str, member: str) -> list[ast.AST] | None:
    """Where Luigi's function `module:Qualname@receiver` calls `receiver.member(...)` (a call, or the
    method handed on, as `key=self._rank`); None when there is no such function."""
    module, _, qualname = where.partition("@")[0].partition(":")
    receiver = where.partition("@")[2]
    node: ast.AST = ast.parse(inspect.getsource(importlib.import_module(module)))
    for part in qualname.split("."):
        node = next((child for child in ast.iter_child_nodes(node)
                     if isinstance(child, (ast.ClassDef, ast.FunctionDef)) and child.name == part), None)
        if node is None:
            return None
    calls = {id(c.func): c for c in ast.walk(node) if isinstance(c, ast.Call)}
    return [calls.get(id(a), a) for a in ast.walk(node)
            if isinstance(a, ast.Attribute) and a.attr == member and ast.unparse(a.value) == receiver]


def changed(relied: Relied) -> list[str]:
    """How Luigi no longer is what `relied` says: its parameters, or where Luigi calls it."""
    member = f"{name_of(relied.owner)}.{relied.name}"
    if not hasattr(relied.owner, relied.name):
        return [f"{member} is gone"]
    found = []
    if relied.parameters is not None:
        has = parameters_of(getattr(relied.owner, relied.name))
        if has[:len(relied.parameters)] != relied.parameters:
            found.append(f"{member} takes {has}, not {relied.parameters}")
    for where in relied.called_in:
        calls = calls_in(where, relied.name)
        if not calls:
            found.append(f"{where} no longer calls {relied.name}")
        elif relied.keywords and any(getattr(call, "args", None) for call in calls):
            found.append(f"{where} calls {relied.name} with positional arguments")
    return found


def test_the_installed_luigi_has_every_member_we_use():
    scheduler = luigi.scheduler.Scheduler()
    with luigi.worker.Worker(scheduler=scheduler) as worker:
        assert missing_members(worker, scheduler, luigi.rpc.RemoteScheduler("http://127.0.0.1:1")) == []


def test_every_member_takes_what_we_give_it_and_is_called_where_we_rely_on_it():
    assert [line for relied in RELIED_ON for line in changed(relied)] == []


def test_luigi_logs_what_the_one_line_filter_reads():
    source = inspect.getsource(luigi.worker)
    assert f'logging.getLogger("{LUIGI_LOGGER}")' in source
    assert COMPLETE_FAILED.replace("\n", "\\n") in source
    assert TASK_FAILED in source


def test_a_pooled_task_process_has_what_luigi_reads_of_a_task_process():
    process = PooledTaskProcess(pool=None, task=luigi.Task(), status_reporter=None, worker_timeout=0)
    assert [m for m in TASK_PROCESS_MEMBERS if not hasattr(process, m)] == []


def test_a_member_a_new_luigi_lacks_or_changed_is_named(monkeypatch):
    class Worker:  # a Luigi whose worker lost one step, changed another, and calls a third no more
        def _add(self, task):
            pass

        def run(self):
            pass

        def _get_work(self):
            pass

    gone, narrower = Relied(Worker, "_gone", ()), Relied(Worker, "_add", ("task", "is_complete"))
    uncalled = Relied(Worker, "_get_work", (), ("luigi.worker:Worker.add@self",))
    elsewhere = Relied(Worker, "_add", ("task",), ("luigi.worker:Worker.add@self._scheduler",))
    positional = Relied(luigi.worker.Worker, "_add", ("task", "is_complete"), ("luigi.worker:Worker.add@self",),
                        keywords=True)
    assert changed(gone) == ["Worker._gone is gone"]
    assert changed(narrower) == ["Worker._add takes ('task',), not ('task', 'is_complete')"]
    assert changed(uncalled) == ["luigi.worker:Worker.add@self no longer calls _get_work"]
    assert changed(elsewhere) == ["luigi.worker:Worker.add@self._scheduler no longer calls _add"]
    assert changed(positional) == ["luigi.worker:Worker.add@self calls _add with positional arguments"]
    monkeypatch.setattr(luigi_relied_on, "RELIED_ON", (*RELIED_ON, gone))
    assert missing_members() == ["Worker._gone"]


def luigi_classes() -> set[type]:
    """Luigi's classes whose members we rely on: the ones a module of ours could override."""
    return {r.owner for r in RELIED_ON if isinstance(r.owner, type) and r.owner.__module__.startswith("luigi")}


def overrides(cls: type) -> list[tuple[type, str]]:
    """(Luigi class, member) for each member of Luigi's that `cls` defines itself, its constructor aside."""
    return [(base, name) for name in vars(cls) if name not in ("__init__", "__doc__", "__module__", "__qualname__")
            for base in cls.__mro__[1:] if base in luigi_classes() and name in vars(base)]


def our_classes() -> list[type]:
    modules = [importlib.import_module(m.name) for m in pkgutil.walk_packages([str(PACKAGE)], "planexe_pipeline.")
               if not m.name.endswith("__main__")]
    return [cls for module in modules for cls in vars(module).values()
            if isinstance(cls, type) and cls.__module__ == module.__name__ and set(cls.__mro__) & luigi_classes()]


def test_no_module_but_the_one_door_overrides_a_member_of_luigi():
    door = [cls for cls in our_classes() if cls.__module__ == luigi_internals.__name__]
    others = [f"{cls.__module__}.{cls.__qualname__}.{name}" for cls in our_classes() if cls not in door
              for _, name in overrides(cls)]
    assert others == []
    assert len(door) >= 4, "the check must see the door's own classes"


def test_each_override_in_the_door_is_listed_and_takes_what_luigi_passes():
    relied = {(r.owner, r.name): r for r in RELIED_ON}
    door = [cls for cls in our_classes() if cls.__module__ == luigi_internals.__name__]
    unlisted, unlike = [], []
    for cls in door:
        for base, name in overrides(cls):
            entry = relied.get((base, name))
            if entry is None:
                unlisted.append(f"{base.__qualname__}.{name}")
                continue
            ours, theirs = parameters_of(vars(cls)[name]), parameters_of(getattr(base, name))
            # Ours takes Luigi's parameters, or the first of them then **kwargs (the rest passed
            # on); a bare **kwargs only where Luigi calls it with keywords only.
            fits = ours == theirs or (ours[-1:] == CATCH_ALL and theirs[:len(ours) - 1] == ours[:-1]
                                      and (len(ours) > 1 or entry.keywords or theirs == CATCH_ALL))
            if not fits:
                unlike.append(f"{cls.__qualname__}.{name}{ours} for {theirs}")
    assert unlisted == [] and unlike == []


def private_uses(path: Path) -> list[str]:
    """Where a module reaches past Luigi's public API: super()._name(...), luigi.<module>._name,
    or one of the private attributes Luigi's worker and schedulers keep on themselves."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        value = node.value
        on_super = isinstance(value, ast.Call) and getattr(value.func, "id", None) == "super"
        on_luigi = isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "luigi"
        if on_super or on_luigi or node.attr in LUIGI_PRIVATE_ATTRIBUTES:
            found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.attr}")
    return found


def test_no_module_but_the_one_door_reaches_into_luigi():
    uses = [use for path in sorted(PACKAGE.rglob("*.py")) if path not in DOOR for use in private_uses(path)]
    assert uses == []
    assert all(private_uses(path) for path in DOOR), "the check must see the door's own uses"
