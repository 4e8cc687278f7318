"""Every default of a run, in one place: the command line, the config, the bench and the tests
read them here.

The settings a luigi.cfg can change are in the packaged planexe_pipeline/luigi.cfg, read before
any other file (a test keeps the values below and that file equal). Luigi reads its config files
in the order of its list of config paths (its system files, then ./luigi.cfg, then
LUIGI_CONFIG_PATH appended when luigi.configuration is imported), a later file overriding an
earlier one key by key. Putting the packaged file first
makes it the lowest priority, so an installed package runs with the same `[resources] llm`,
`[retcode]` and `[retry_policy]` as a checkout while every local file still wins.
"""

from __future__ import annotations

from pathlib import Path

from luigi.configuration import LuigiConfigParser

from planexe_pipeline.luigi_internals import config_paths

PACKAGED_CONFIG = Path(__file__).resolve().with_name("luigi.cfg")

WORKERS = 16  # Luigi worker processes of a run
LLM_SLOTS = 8  # [resources] llm: LLM calls in flight at most
PRINT_SLOTS = 2  # [resources] print: report sections printed at once (tasks/print_parts.py)
FAST_FANOUT_WIDTH = 2  # [pipeline] fast_fanout_width: items of every fan-out under --speed fast
SCHEDULER_HOST = "127.0.0.1"  # luigid's address, for `planexe-pipeline scheduler` and its workers
SCHEDULER_PORT = 8082
MCP_PORT = 8000  # `planexe-pipeline mcp --http`, on 127.0.0.1
# The standard workload of `planexe-pipeline bench`: the simulator's latencies scaled down 50x,
# one seed's draw of them, the sample prompt of `make run-plan`, a fixed first day.
BENCH_WORKERS = (1, WORKERS)
BENCH_TIME_SCALE = 0.02
BENCH_SEED = 42
SAMPLE_PROMPT_ID = "solar-farm-denmark"
BENCH_START_DATE = "2027-01-04"
# A call of the standard workload, on average (a full plan: 126 calls, 160,859 input tokens of which
# 18% come from the prompt cache, 48,845 output tokens): what a plan is projected to cost before
# any of its calls has answered.
STANDARD_CALL_INPUT_TOKENS = 1277
STANDARD_CALL_OUTPUT_TOKENS = 388
STANDARD_CACHED_SHARE = 0.18


def load_packaged_defaults() -> None:
    """Put the packaged defaults under every other config file (idempotent)."""
    paths = config_paths()
    if str(PACKAGED_CONFIG) in paths:
        return
    paths.insert(0, str(PACKAGED_CONFIG))
    # Reading the whole list again in its new order restores every override made by a later file.
    LuigiConfigParser.reload()
