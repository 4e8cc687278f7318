"""Luigi's internals are reached through one module, and a Luigi that changed shape is named."""

from __future__ import annotations

import ast
from pathlib import Path

import luigi.rpc
import luigi.scheduler
import luigi.worker

import planexe_pipeline
from planexe_pipeline import luigi_internals
from planexe_pipeline.luigi_internals import (REMOTE_SCHEDULER_ATTRIBUTES, SCHEDULER_ATTRIBUTES, WORKER_ATTRIBUTES,
                                              missing_members)

PACKAGE = Path(planexe_pipeline.__file__).parent
DOOR = PACKAGE / "luigi_internals.py"
LUIGI_PRIVATE_ATTRIBUTES = set(WORKER_ATTRIBUTES + SCHEDULER_ATTRIBUTES + REMOTE_SCHEDULER_ATTRIBUTES)


def test_the_installed_luigi_has_every_member_we_use():
    scheduler = luigi.scheduler.Scheduler()
    with luigi.worker.Worker(scheduler=scheduler) as worker:
        assert missing_members(worker, scheduler, luigi.rpc.RemoteScheduler("http://127.0.0.1:1")) == []


def test_a_member_a_new_luigi_lacks_is_named(monkeypatch):
    monkeypatch.setattr(luigi_internals, "PRIVATE_MEMBERS",
                        (*luigi_internals.PRIVATE_MEMBERS, (luigi.worker.Worker, "_gone_in_a_new_release")))

    class Shrunk:
        pass

    assert missing_members() == ["Worker._gone_in_a_new_release"]
    assert missing_members(worker=Shrunk()) == ["Worker._gone_in_a_new_release"] + [
        f"Shrunk.{name}" for name in WORKER_ATTRIBUTES]


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
    uses = [use for path in sorted(PACKAGE.rglob("*.py")) if path != DOOR for use in private_uses(path)]
    assert uses == []
    assert private_uses(DOOR), "the check must see the door's own uses"
