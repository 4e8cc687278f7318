"""Write the generated documentation: docs/edges.md, docs/cli.md and the reviewed edge snapshot of the tests.

Run by `make docs` after a change to what a task reads; tests fail while either file is stale.
"""

from __future__ import annotations

from pathlib import Path

from planexe_pipeline.cli_reference import reference_markdown
from planexe_pipeline.pipeline import FullPlan
from planexe_pipeline.tasks.edges import edge_lines, edges_markdown

ROOT = Path(__file__).resolve().parent.parent

GENERATED = {
    ROOT / "docs" / "edges.md": edges_markdown(FullPlan),
    ROOT / "docs" / "cli.md": reference_markdown(),
    ROOT / "tests" / "data" / "edges.txt": "\n".join(edge_lines(FullPlan)) + "\n",
}

for path, text in GENERATED.items():
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
