"""Errors the user is meant to read: each carries one line that says what to do."""


class PipelineError(Exception):
    """Base of every error that ends a run with a one-line message and a non-zero exit."""

    exit_code = 2


class ConfigError(PipelineError):
    """llm_config.json, a model name or an environment variable is wrong or missing."""


class InputError(PipelineError):
    """The prompt, the run folder or a command-line value cannot be used."""


class RunFolderMismatch(InputError):
    """The run folder already holds a plan made from another prompt or with other settings."""


class LLMCallFailed(PipelineError):
    """Every model in the run's list failed for one stage and item."""

    exit_code = 3


class UnreadableOutput(PipelineError):
    """A file of the run folder exists but cannot be read back (truncated, or edited out of shape)."""

    def __init__(self, path: str):
        super().__init__(f"{path} is unreadable: delete it and run again to redo that step")
        self.path = path


class ProviderQuotaError(LLMCallFailed):
    """Every model's provider is out of quota until a moment beyond the patience.

    The message is the same for every task of the run (it names models and moments, not a
    stage), and starts with `prefix`, so a run that stops on it says so in one line."""

    prefix = "provider quota: "

    def __init__(self, message: str):
        super().__init__(self.prefix + message)


class PromptUnusable(PipelineError):
    """The screening judged the prompt unusable: the run stops, keeping what was written.

    Its message is the run's one line (the verdict, the reason, what to change in the prompt),
    not a stage's, and starts with `prefix`."""

    prefix = "the prompt is unusable"
