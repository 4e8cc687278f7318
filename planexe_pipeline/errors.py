"""Errors the user is meant to read: each carries one line that says what to do.

Each kind of failure is a class that says what it is: its `kind` goes into the telemetry line
of the task that met it, and the run's summary, `status` and alerts read the class back from
there (`failure_kind`) instead of matching words in the message.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error that ends a run with a one-line message and a non-zero exit."""

    exit_code = 2
    kind = "error"
    names_its_stage = False  # its message starts with the stage it happened in
    stands_for_the_run = False  # its one line is the run's, not a stage's (a quota, an unusable prompt)
    recoverable = False  # a rerun can get past it: another model, a later moment, a redone file


class ConfigError(PipelineError):
    """llm_config.json, a model name or an environment variable is wrong or missing."""

    kind = "config"


class InputError(PipelineError):
    """The prompt, the run folder or a command-line value cannot be used."""

    kind = "input"


class RunFolderMismatch(InputError):
    """The run folder already holds a plan made from another prompt or with other settings."""


class LLMCallFailed(PipelineError):
    """Every model in the run's list failed for one stage and item."""

    exit_code = 3
    kind = "llm"
    names_its_stage = True
    recoverable = True


class UnreadableOutput(PipelineError):
    """A file of the run folder exists but cannot be read back (truncated, or edited out of shape)."""

    kind = "unreadable"
    recoverable = True

    def __init__(self, path: str):
        super().__init__(f"{path} is unreadable: delete it and run again to redo that step")
        self.path = path


class ProviderQuotaError(LLMCallFailed):
    """Every model's provider is out of quota until a moment beyond the patience.

    The message is the same for every task of the run (it names models and moments, not a
    stage), so a run that stops on it says so in one line."""

    prefix = "provider quota: "
    kind = "quota"
    names_its_stage = False
    stands_for_the_run = True

    def __init__(self, message: str):
        super().__init__(self.prefix + message)


class PromptUnusable(PipelineError):
    """The screening judged the prompt unusable: the run stops, keeping what was written.

    Its message is the run's one line (the verdict, the reason, what to change in the prompt),
    not a stage's."""

    prefix = "the prompt is unusable"
    kind = "prompt_unusable"
    stands_for_the_run = True


class Defect(PipelineError):
    """Anything else: not a failure a user caused or a rerun gets past, but one to report."""

    kind = "defect"


def _kinds(cls: type[PipelineError]) -> dict[str, type[PipelineError]]:
    found = {cls.kind: cls} if "kind" in vars(cls) else {}
    for sub in cls.__subclasses__():
        found.update(_kinds(sub))
    return found


def failure_kind(kind: str | None) -> type[PipelineError]:
    """The class of a failure by the kind its telemetry line recorded (a defect if unknown)."""
    return _kinds(PipelineError).get(kind or "", Defect)
