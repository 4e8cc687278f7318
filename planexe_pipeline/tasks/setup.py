"""Setup: the prompt enters the run folder, with a fingerprint that guards the folder."""

from __future__ import annotations

import sys

from planexe_pipeline import run_settings
from planexe_pipeline.errors import InputError
from planexe_pipeline.prompt_input import (FINGERPRINT_FILE, PLAN_FILE, check_prompt, check_run_folder, fingerprint,
                                           read_prompt_file)
from planexe_pipeline.run_settings import RunSettings
from planexe_pipeline.settings import pipeline
from planexe_pipeline.tasks.base import PlanTask
from planexe_pipeline.tasks.inputs import Input


class Setup(PlanTask):
    group = "framing"
    number = 1
    files = {"plan": PLAN_FILE, "fingerprint": FINGERPRINT_FILE}
    text_output = "plan"

    def given_prompt(self, settings: RunSettings | None) -> str | None:
        """The prompt the run was started with: given to this task on Luigi's own command line, or
        held by the settings of the process that resolved them."""
        limit = settings.max_prompt_chars if settings else pipeline().max_prompt_chars
        if self.prompt:
            return check_prompt(self.prompt, limit)
        if self.prompt_file:
            return check_prompt(read_prompt_file(self.prompt_file), limit)
        return settings.prompt if settings else None

    def complete(self) -> bool:
        # A finished Setup with another prompt must stop the run, not be skipped over. The settings
        # recorded, not resolved: a bad model entry is the run's failure (run()), not the check's.
        recorded = run_settings.recorded(self.run_dir)
        check_run_folder(self.run_dir, self.given_prompt(recorded), self.speed if self.speed != "full" or not recorded
                         else recorded.speed)
        return super().complete()

    def run(self) -> None:
        prompt = self.given_prompt(self.settings)
        if prompt is None:
            raise InputError(f"run folder {self.run_dir} has no plan yet: pass --prompt-file (or use planexe-pipeline run --prompt)")
        settings = self.settings  # resolved, every model checked: a bad entry stops here, before anything is written
        if any(entry.model_class.simulated for entry in settings.entries_for()):
            print("planexe_pipeline: using the offline simulator; the plan text is simulated.", file=sys.stderr)
        if not settings.start_date:  # Luigi's own command line, a first run: the settings are recorded now
            settings = settings.with_changes(start_date=run_settings.today())
            run_settings.record(self.run_dir, settings)
        elif run_settings.recorded(self.run_dir) is None:
            run_settings.record(self.run_dir, settings)
        self.write_json("fingerprint", fingerprint(prompt, settings.speed, settings.start_date))
        self.write_text("plan", prompt)


# The idea as the user wrote it: nearly every prompt starts from it.
IDEA = Input(Setup, "the idea as the user wrote it")
