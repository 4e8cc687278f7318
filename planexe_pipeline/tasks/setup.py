"""Setup: the prompt enters the run folder, with a fingerprint that guards the folder."""

from __future__ import annotations

import datetime
import sys

from planexe_pipeline.errors import InputError
from planexe_pipeline.llm.config import load_llm_config, resolve_models, uses_simulator
from planexe_pipeline.prompt_input import (FINGERPRINT_FILE, PLAN_FILE, check_prompt, check_run_folder,
                                           check_start_date, fingerprint, read_prompt_file)
from planexe_pipeline.settings import pipeline
from planexe_pipeline.tasks.base import PlanTask
from planexe_pipeline.tasks.inputs import Input


class Setup(PlanTask):
    group = "framing"
    number = 1
    files = {"plan": PLAN_FILE, "fingerprint": FINGERPRINT_FILE}
    text_output = "plan"

    def given_prompt(self) -> str | None:
        if self.prompt:
            return check_prompt(self.prompt, pipeline().max_prompt_chars)
        if self.prompt_file:
            return check_prompt(read_prompt_file(self.prompt_file), pipeline().max_prompt_chars)
        return None

    def complete(self) -> bool:
        # A finished Setup with another prompt must stop the run, not be skipped over.
        check_run_folder(self.run_dir, self.given_prompt(), self.speed)
        return super().complete()

    def run(self) -> None:
        prompt = self.given_prompt()
        if prompt is None:
            raise InputError(f"run folder {self.run_dir} has no plan yet: pass --prompt-file (or use planexe-pipeline run --prompt)")
        config = load_llm_config(self.llm_config or None)
        resolve_models(self.model_names(), config)  # a bad entry stops here, before anything is written
        if uses_simulator(self.model_names(), config):
            print("planexe_pipeline: using the offline simulator; the plan text is simulated.", file=sys.stderr)
        start = check_start_date(self.start_date) if self.start_date else datetime.date.today().isoformat()
        self.write_json("fingerprint", fingerprint(prompt, self.speed, start))
        self.write_text("plan", prompt)


# The idea as the user wrote it: nearly every prompt starts from it.
IDEA = Input(Setup, "the idea as the user wrote it")
