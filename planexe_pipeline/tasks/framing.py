"""Framing: purpose, plan type, strategic levers and scenarios."""

from __future__ import annotations

from planexe_pipeline.stages import identify_purpose
from planexe_pipeline.tasks.base import LLMTask
from planexe_pipeline.tasks.setup import Setup


class IdentifyPurpose(LLMTask):
    group = "framing"
    files = {"json": "002-identify_purpose.json", "md": "002-identify_purpose.md"}

    def requires(self):
        return {"setup": self.clone(Setup)}

    def run(self):
        result = identify_purpose.execute(self.executor(), self.input_text("setup", "plan"))
        self.write_stage(result, identify_purpose.to_markdown(result))
