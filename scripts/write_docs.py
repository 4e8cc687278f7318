"""Write the generated files: docs/edges.md, docs/cli.md, the reviewed edge snapshot of the tests,
and the packaged luigi.cfg with its copy in the repository (from the defaults in the code).

Run by `make docs` after a change to what a task reads or to a default; tests fail while any is stale.
"""

from __future__ import annotations

from pathlib import Path

from planexe_pipeline.cli_reference import reference_markdown
from planexe_pipeline.config_file import luigi_cfg_text
from planexe_pipeline.defaults import PACKAGED_CONFIG
from planexe_pipeline.pipeline import PLAN
from planexe_pipeline.tasks.edges import edge_lines, edges_markdown

ROOT = Path(__file__).resolve().parent.parent

GENERATED = {
    ROOT / "docs" / "edges.md": edges_markdown(PLAN),
    ROOT / "docs" / "cli.md": reference_markdown(),
    ROOT / "tests" / "data" / "edges.txt": "\n".join(edge_lines(PLAN)) + "\n",
    PACKAGED_CONFIG: luigi_cfg_text(),
    ROOT / "luigi.cfg": luigi_cfg_text(),
}

for path, text in GENERATED.items():
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
