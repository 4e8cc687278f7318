"""The run defaults travel inside the package and sit under every other Luigi config file."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

from planexe_pipeline import defaults
from planexe_pipeline.cli import main
from planexe_pipeline.defaults import PACKAGED_CONFIG
from planexe_pipeline.settings import pipeline

REPO = Path(__file__).resolve().parent.parent

# What a run would read, printed by a fresh interpreter that only imported the package.
SHOW = ("import luigi, planexe_pipeline; c = luigi.configuration.get_config(); "
        "print(c.getint('resources', 'llm', -1), c.getint('retcode', 'task_failed', -1), "
        "c.getint('retry_policy', 'max_attempts_per_model', -1))")


def effective(cwd: Path, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "LUIGI_CONFIG_PATH"}
    done = subprocess.run([sys.executable, "-c", SHOW], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_the_repository_copy_and_the_packaged_defaults_are_equal():
    assert (REPO / "luigi.cfg").read_bytes() == PACKAGED_CONFIG.read_bytes(), (
        "luigi.cfg and planexe_pipeline/luigi.cfg differ: edit luigi.cfg, then copy it over the packaged one")


def test_the_packaged_defaults_apply_in_a_folder_without_luigi_cfg(tmp_path):
    assert effective(tmp_path) == f"{defaults.LLM_SLOTS} 30 5"


def test_the_packaged_config_states_the_defaults_of_the_code():
    config = configparser.ConfigParser()
    config.read(PACKAGED_CONFIG)
    assert config.getint("resources", "llm") == defaults.LLM_SLOTS
    assert config.getint("pipeline", "fast_fanout_width", fallback=defaults.FAST_FANOUT_WIDTH) == \
        defaults.FAST_FANOUT_WIDTH == pipeline().fast_fanout_width


def test_a_local_luigi_cfg_overrides_key_by_key_and_luigi_config_path_overrides_both(tmp_path):
    (tmp_path / "luigi.cfg").write_text("[resources]\nllm = 3\n")
    # Only [resources] llm is replaced: [retcode] and [retry_policy] still come from the package.
    assert effective(tmp_path) == "3 30 5"
    extra = tmp_path / "machine.cfg"
    extra.write_text("[retry_policy]\nmax_attempts_per_model = 2\n[resources]\nllm = 12\n")
    assert effective(tmp_path, LUIGI_CONFIG_PATH=str(extra)) == "12 30 2"


def test_version_comes_from_the_installed_distribution(capsys):
    try:
        main(["--version"])
    except SystemExit as stop:
        assert stop.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("planexe-pipeline ") and "not installed" not in out, out
