"""The run defaults travel inside the package and sit under every other Luigi config file."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

from planexe_pipeline import defaults
from planexe_pipeline.cli import main
from planexe_pipeline.config_file import CONFIG_CLASSES, cfg_value, luigi_cfg_text
from planexe_pipeline.defaults import PACKAGED_CONFIG

REPO = Path(__file__).resolve().parent.parent

# What a run would read, printed by a fresh interpreter that only imported the package.
SHOW = ("import luigi, planexe_pipeline; c = luigi.configuration.get_config(); "
        "print(c.getint('resources', 'llm', -1), c.getint('retcode', 'task_failed', -1), "
        "c.getint('retry_policy', 'max_attempts_per_model', -1))")
SHOW_FAST_WIDTH = ("import planexe_pipeline; from planexe_pipeline.settings import pipeline; "
                   "print(pipeline().fast_fanout_width)")


def effective(cwd: Path, show: str = SHOW, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "LUIGI_CONFIG_PATH"}
    done = subprocess.run([sys.executable, "-c", show], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_the_packaged_config_and_its_repository_copy_are_written_from_the_code():
    for path in (PACKAGED_CONFIG, REPO / "luigi.cfg"):
        assert path.read_text(encoding="utf-8") == luigi_cfg_text(), (
            f"{path} is stale or was edited: change the default in the code, then run `make docs`")


def test_the_packaged_defaults_apply_in_a_folder_without_luigi_cfg(tmp_path):
    assert effective(tmp_path) == f"{defaults.LLM_SLOTS} 30 5"


def test_the_packaged_config_states_the_defaults_of_the_code():
    config = configparser.ConfigParser()
    config.read(PACKAGED_CONFIG)
    assert config.getint("resources", "llm") == defaults.LLM_SLOTS
    # Every key of a section of ours is a setting the code declares, stated at its declared
    # default: a key the template misspelt would be read by nobody, and the run would not say so.
    for section, config_class in CONFIG_CLASSES.items():
        declared = dict(config_class.get_params())
        for key, value in config.items(section):
            assert key in declared, f"[{section}] {key} is no setting of {config_class.__name__}"
            assert value == cfg_value(declared[key]._default), f"[{section}] {key}"


def test_the_packaged_fast_width_is_the_one_a_run_reads(tmp_path):
    config = configparser.ConfigParser()
    config.read(PACKAGED_CONFIG)
    assert config.getint("pipeline", "fast_fanout_width") == defaults.FAST_FANOUT_WIDTH
    (tmp_path / "luigi.cfg").write_text("[pipeline]\nfast_fanout_width = 3\n")
    assert effective(tmp_path, SHOW_FAST_WIDTH) == "3", "a local file still overrides it"


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
