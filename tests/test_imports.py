"""The package's imports point one way: no cycle, and no import hidden in a function to dodge one."""

from __future__ import annotations

import ast
from pathlib import Path

import luigi

import planexe_pipeline
from planexe_pipeline.latency import STAGE_RANGES
from planexe_pipeline.pipeline import REMAINING_SECONDS, FullPlan
from planexe_pipeline.tasks.base import LLMTask

PACKAGE = Path(planexe_pipeline.__file__).parent
# The command line (cli.py, its revision commands in cli_revise.py, its bench in cli_bench.py, its export in cli_export.py) imports what each command needs when it runs (`import planexe_pipeline.cli`
# takes about 1 s, with runner, bench and timeline about 9 s on a loaded 2-core machine). Provider
# clients, optional extras, are loaded by name (importlib), not by an import statement.
LAZY_IMPORTS_ALLOWED = {"cli.py", "cli_revise.py", "cli_bench.py", "cli_export.py"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.AST, module: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:  # relative: resolve against this module's package
            base = module.split(".")[: -node.level]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        # `from pkg import mod` imports pkg.mod when it is a module; otherwise a name of pkg.
        return [f"{prefix}.{alias.name}" for alias in node.names] + [prefix]
    return []


def _function_imports(tree: ast.AST) -> list[int]:
    lines = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines += [n.lineno for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))]
    return sorted(set(lines))


def import_graph() -> tuple[dict[str, set[str]], dict[str, list[int]]]:
    """module -> package modules it imports at module level; file -> lines of function-level imports."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    hidden: dict[str, list[int]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n for node in tree.body for n in _imported_top(node, module)}
        graph[module] = {n for n in names if n in files and n != module}
        lines = _function_imports(tree)
        rel = str(path.relative_to(PACKAGE))
        if lines and rel not in LAZY_IMPORTS_ALLOWED:
            hidden[rel] = lines
    return graph, hidden


def _imported_top(node: ast.AST, module: str) -> list[str]:
    # Module level includes `try:`/`if` blocks at the top, but not function or class bodies.
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return []
    return [n for child in ast.walk(node) for n in _imported(child, module)]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle():
    graph, _ = import_graph()
    assert graph["planexe_pipeline.runner"] >= {"planexe_pipeline.pipeline"}, "the walk must see real edges"
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def part_of(module: str) -> str:
    """The package's part a module belongs to: its subpackage (llm, tasks, ...) or its own top-level module."""
    return module.split(".")[1] if module.count(".") else module


def test_no_two_parts_of_the_package_import_each_other():
    graph, _ = import_graph()
    parts: dict[str, set[str]] = {}
    for module, imported in graph.items():
        parts.setdefault(part_of(module), set()).update(part_of(m) for m in imported if part_of(m) != part_of(module))
    assert {"errors", "redaction"} <= parts["llm"] and "llm" not in parts["telemetry"], "the walk must see real parts"
    assert find_cycle(parts) is None, " -> ".join(find_cycle(parts) or [])


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_is_hidden_in_a_function():
    _, hidden = import_graph()
    assert hidden == {}, f"function-level imports (file: lines): {hidden}"


def test_every_latency_in_the_model_names_an_llm_stage_of_the_plan():
    # The latency table is keyed by the stages' declared names: a renamed stem must not silently
    # lose its latency.
    llm_stems = {luigi.task_register.Register.get_task_cls(f).stem for f in REMAINING_SECONDS
                 if issubclass(luigi.task_register.Register.get_task_cls(f), LLMTask)}
    assert set(STAGE_RANGES) <= llm_stems


def test_priorities_are_computed_for_every_task_of_the_plan():
    assert set(FullPlan.priorities) == set(REMAINING_SECONDS)
    assert FullPlan.priorities["IdentifyPurpose"] > FullPlan.priorities["ExecutiveSummary"] > 0
