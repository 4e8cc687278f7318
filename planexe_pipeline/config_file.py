"""The packaged luigi.cfg, written from the code's own defaults (`make docs`, scripts/write_docs.py).

Each value of a section of ours is the default its setting is declared with (settings.py, the
`[notify]` of telemetry/alerts.py, `[resources]` of defaults.py), so a default is stated once;
the text around the values, and Luigi's own sections, are the template below. The repository's
luigi.cfg is the same file, written beside it for a checkout; tests/test_packaged_defaults.py
fails while either is stale.
"""

from __future__ import annotations

import luigi

from planexe_pipeline import defaults, settings
from planexe_pipeline.luigi_internals import declared_default
from planexe_pipeline.telemetry.alerts import notify

# The luigi.Config classes whose sections the file states, by section name.
CONFIG_CLASSES: dict[str, type[luigi.Config]] = {
    "pipeline": settings.pipeline, "retry_policy": settings.retry_policy, "scale_out": settings.scale_out,
    "observability": settings.observability, "mcp": settings.mcp, "notify": notify, "export": settings.export,
}

TEMPLATE = """\
# Run defaults of planexe-pipeline. The package carries this file as planexe_pipeline/luigi.cfg
# and reads it first, at the lowest priority, however it is started (planexe-pipeline,
# python -m planexe_pipeline, luigi --module planexe_pipeline.pipeline) and wherever it is
# installed. A luigi.cfg in the working folder, then LUIGI_CONFIG_PATH, override it key by key.
# Written by `make docs` from the defaults in the code (planexe_pipeline/config_file.py): change
# a default there, not here. The repository's luigi.cfg is the same file, for a checkout.

[core]
autoload_range = false
parallel_scheduling = false
log_level = WARNING

[worker]
wait_interval = 0.02
wait_jitter = 0.0
# Dynamic dependencies (fan-outs) re-run the aggregator once its items are done.
max_reschedules = 3
# A task that outlives this is killed and reported failed (seconds, 0 = no limit).
timeout = 0
keep_alive = false

[scheduler]
retry_count = 0
record_task_history = false

[scale_out]
# planexe-pipeline scheduler (luigid): a worker silent this long (it pings every second) is
# gone, and the tasks it was running go back to pending, for another worker, after retry_delay.
worker_disconnect_delay = {scale_out[worker_disconnect_delay]}
retry_delay = {scale_out[retry_delay]}
# How often a task lost with its worker runs again before luigid gives up on it.
retries = {scale_out[retries]}
# planexe-pipeline run --scheduler-host: how long luigid may stay unreachable (restarted on its
# --state-dir, it remembers the plan) before each worker stops.
scheduler_patience = {scale_out[scheduler_patience]}
# How long luigid may hand a worker nothing while nothing of the plan runs anywhere and the plan
# is not complete, before the worker stops with one line saying what the pending tasks wait for.
no_work_patience = {scale_out[no_work_patience]}

[resources]
# At most this many LLM calls in flight, across all workers (and, with luigid,
# across all machines sharing the scheduler).
llm = {llm_slots}
# At most this many report sections printed at once for the PDF and the Word file, each a few
# tenths of a second of CPU (tasks/print_parts.py): about the machine's cores, so printing never
# crowds out the plan's own steps, and the sections waiting their turn hold no worker.
print = {print_slots}

[retcode]
# So that `luigi --module planexe_pipeline.pipeline FullPlan ...` exits non-zero
# when anything failed, not only when scheduling did.
already_running = 10
missing_data = 20
not_run = 25
task_failed = 30
scheduling_error = 35
unhandled_exception = 40

[pipeline]
# Which models to try, in order, when a task is not given --llm.
llm = {pipeline[llm]}
# How many of the experts found get a criticism call each.
experts_to_criticise = {pipeline[experts_to_criticise]}
# Items of every fan-out under --speed fast.
fast_fanout_width = {pipeline[fast_fanout_width]}

[retry_policy]
# A rate-limit answer (429, or 503 with a reset) is waited out, through the endpoint's shared
# limit, for up to this many seconds of waiting per call; a limit that resets later than that
# (a daily quota) hands over to the next --llm model at once.
patience_s = {retry_policy[patience_s]}
# Per model, for other transient errors (408, 5xx, timeouts, dropped connections).
max_attempts_per_model = {retry_policy[max_attempts_per_model]}
initial_wait_s = {retry_policy[initial_wait_s]}
max_wait_s = {retry_policy[max_wait_s]}
jitter_s = {retry_policy[jitter_s]}
# An answer that fails schema validation gets this many more tries on the same model.
validation_retries = {retry_policy[validation_retries]}
# A valid but degenerate answer (items that repeat each other, a phrase said over and over, a
# field that says nothing or echoes the schema) is asked again once, with varied sampling, while
# the run's retries stay within this share of its attempts (the first always); beyond it, or if
# it stays degenerate, it is kept and flagged in the plan. 1 asks again every time, 0 never.
degenerate_retry_share = {retry_policy[degenerate_retry_share]}

[export]
# The files beside the report every plan writes (docs/exports.md): mspdi (MS Project XML), ics
# (iCalendar), pdf, docx (Word). A format left out, or whose libraries are missing (the export
# extra), is skipped; `planexe-pipeline export DIR --format ...` writes it later.
formats = {export[formats]}

[notify]
# Alerts (JSON) when a run is done, failed or stalled: POSTed to url (also --notify-url and
# PLANEXE_NOTIFY_URL), and fed to command on its standard input (also --notify-command). Empty: none.
url = {notify[url]}
command = {notify[command]}
# A running plan that finishes nothing for this long is stalled (planexe-pipeline status says so too).
stall_after_s = {notify[stall_after_s]}
# Tries of one POST (1, 2, 4 s apart), each at most timeout_s; they never hold up the run.
attempts = {notify[attempts]}
timeout_s = {notify[timeout_s]}

[observability]
# Seconds between two samples of the memory of the run's processes (0: none).
memory_sample_s = {observability[memory_sample_s]}

[mcp]
# planexe-pipeline mcp: plans running at once under its --root (also --max-running); the others
# wait in a queue kept in ROOT/.mcp/, started as running plans end, with or without a server.
max_running = {mcp[max_running]}
# The most worker processes a client may ask for one plan.
max_workers = {mcp[max_workers]}
# The largest page of a file plan_file returns (a client reads longer files page by page), and
# the largest report or plan served as an MCP resource, in bytes.
max_file_bytes = {mcp[max_file_bytes]}
# The page plan_file returns when a client names no max_bytes (an agent reads a long plan a
# part at a time, not a hundred kilobytes in one answer), in bytes.
page_bytes = {mcp[page_bytes]}
# The longest a plan_wait call blocks, in seconds.
max_wait_s = {mcp[max_wait_s]}
"""


def cfg_value(value: object) -> str:
    """A default as luigi.cfg writes it: 600 and 0.1 for floats, true/false for booleans."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def declared_defaults(config_class: type[luigi.Config]) -> dict[str, str]:
    """Each parameter of a luigi.Config class, with its declared default as luigi.cfg writes it."""
    return {name: cfg_value(declared_default(param)) for name, param in config_class.get_params()}


def luigi_cfg_text() -> str:
    sections = {name: declared_defaults(cls) for name, cls in CONFIG_CLASSES.items()}
    text = TEMPLATE.format(llm_slots=defaults.LLM_SLOTS, print_slots=defaults.PRINT_SLOTS, **sections)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
