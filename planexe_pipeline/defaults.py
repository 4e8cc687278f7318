"""The run defaults the package carries: planexe_pipeline/luigi.cfg, read before any other file.

Luigi reads its config files in the order of its list of config paths (its system
files, then ./luigi.cfg, then LUIGI_CONFIG_PATH appended when luigi.configuration is
imported), a later file overriding an earlier one key by key. Putting the packaged file first
makes it the lowest priority, so an installed package runs with the same `[resources] llm`,
`[retcode]` and `[retry_policy]` as a checkout while every local file still wins.
"""

from __future__ import annotations

from pathlib import Path

from luigi.configuration import LuigiConfigParser

from planexe_pipeline.luigi_internals import config_paths

PACKAGED_CONFIG = Path(__file__).resolve().with_name("luigi.cfg")


def load_packaged_defaults() -> None:
    """Put the packaged defaults under every other config file (idempotent)."""
    paths = config_paths()
    if str(PACKAGED_CONFIG) in paths:
        return
    paths.insert(0, str(PACKAGED_CONFIG))
    # Reading the whole list again in its new order restores every override made by a later file.
    LuigiConfigParser.reload()
