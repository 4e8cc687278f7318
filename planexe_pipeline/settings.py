"""Settings read from luigi.cfg (sections named after the classes), with defaults in code."""

from __future__ import annotations

import luigi

from planexe_pipeline import defaults
from planexe_pipeline.errors import InputError
from planexe_pipeline.export.formats import FORMATS, ExportFormat, parse_formats
from planexe_pipeline.llm.retry_policy import RetryPolicy


class pipeline(luigi.Config):  # noqa: N801 - luigi names config sections after the class
    llm = luigi.Parameter(default="simulated", description="Comma-separated model names, tried in order.")
    experts_to_criticise = luigi.IntParameter(default=4, description="Experts that get a criticism call each.")
    fast_fanout_width = luigi.IntParameter(default=defaults.FAST_FANOUT_WIDTH, description="Fan-out width cap under --speed fast.")
    max_prompt_chars = luigi.IntParameter(default=8000, description="Longest prompt accepted.")
    budget_usd = luigi.OptionalFloatParameter(default=None, description="The plan's budget in USD (also --budget): "
                                              "no LLM call starts that could take its cost past it.")


_DEFAULT_RETRY = RetryPolicy()


class retry_policy(luigi.Config):  # noqa: N801 - not "llm_...": luigi would read --llm as an abbreviation of its options
    """RetryPolicy's knobs; its defaults are RetryPolicy's own (the shipped luigi.cfg states them too)."""

    max_attempts_per_model = luigi.IntParameter(default=_DEFAULT_RETRY.max_attempts_per_model)
    initial_wait_s = luigi.FloatParameter(default=_DEFAULT_RETRY.initial_wait_s)
    max_wait_s = luigi.FloatParameter(default=_DEFAULT_RETRY.max_wait_s)
    jitter_s = luigi.FloatParameter(default=_DEFAULT_RETRY.jitter_s)
    validation_retries = luigi.IntParameter(default=_DEFAULT_RETRY.validation_retries)
    patience_s = luigi.FloatParameter(default=_DEFAULT_RETRY.patience_s,
                                      description="Seconds of waiting for a provider's rate limit, per call.")
    degenerate_retry_share = luigi.FloatParameter(
        default=_DEFAULT_RETRY.degenerate_retry_share,
        description="Degenerate answers are asked again while the run's retries stay within this share of its attempts.")

    def policy(self) -> RetryPolicy:
        return RetryPolicy(self.max_attempts_per_model, self.initial_wait_s, self.max_wait_s,
                           self.jitter_s, self.validation_retries, self.patience_s, self.degenerate_retry_share)


class scale_out(luigi.Config):  # noqa: N801 - luigi names config sections after the class
    """How a scaled-out plan rides out a lost worker or a restarted central scheduler."""

    worker_disconnect_delay = luigi.FloatParameter(
        default=15.0, description="luigid: a worker silent this long (it pings every second) is gone; "
                                  "the tasks it was running go back to pending.")
    retry_delay = luigi.FloatParameter(
        default=1.0, description="luigid: seconds before a task lost with its worker is handed out again.")
    retries = luigi.IntParameter(
        default=2, description="luigid: how often a task lost with its worker runs again before it is given up.")
    scheduler_patience = luigi.FloatParameter(
        default=120.0, description="Workers: seconds luigid may stay unreachable before each worker stops.")
    no_work_patience = luigi.FloatParameter(
        default=30.0, description="Workers: seconds luigid may hand a worker nothing while nothing of the plan "
                                  "runs anywhere and the plan is not complete, before the worker stops.")


class observability(luigi.Config):  # noqa: N801 - luigi names config sections after the class
    """What a run records about itself beside its task and call lines."""

    memory_sample_s = luigi.FloatParameter(
        default=1.0, description="Seconds between two samples of the run's memory (0: none).")



class export(luigi.Config):  # noqa: N801 - luigi names config sections after the class
    """The files beside the report that every plan writes (export/formats.py)."""

    formats = luigi.Parameter(default=",".join(FORMATS),
                              description="Export formats a plan writes, comma-separated; `planexe-pipeline export` "
                                          "writes any of them later.")

    def chosen(self) -> tuple[ExportFormat, ...]:
        try:
            return parse_formats(self.formats)
        except ValueError as exc:
            raise InputError(f"[export] formats: {exc}") from None

    def writes(self, fmt: ExportFormat) -> bool:
        """Whether this run writes the format: chosen here, and its libraries installed."""
        return fmt in self.chosen() and not fmt.missing()


class mcp(luigi.Config):  # noqa: N801 - luigi names config sections after the class
    """planexe-pipeline mcp: the plans it runs under its root folder, and what a client may ask of it."""

    max_running = luigi.IntParameter(
        default=2, description="Plans running at once under one root folder; the others wait in its queue.")
    max_workers = luigi.IntParameter(default=32, description="Most worker processes a client may ask for a plan.")
    max_file_bytes = luigi.IntParameter(
        default=1048576, description="Largest page of a file plan_file returns, and largest file served as a resource.")
    page_bytes = luigi.IntParameter(
        default=32768, description="The page plan_file returns when a client names no max_bytes: an agent "
                                   "reads a plan a part at a time, not 100 KB in one answer.")
    max_wait_s = luigi.FloatParameter(default=300.0, description="Longest a plan_wait call blocks, in seconds.")
