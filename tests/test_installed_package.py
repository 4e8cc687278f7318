"""A wheel installed into a fresh environment runs a plan as fast as the checkout: the packaged
defaults give it the real LLM cap, whichever way it is started, from a folder with no luigi.cfg."""

from __future__ import annotations

from pathlib import Path

import pytest

from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.stats import llm_in_flight
from support.installed_package import InstalledPackage, install_wheel

pytestmark = pytest.mark.slow

PACKAGED_CAP = 8  # [resources] llm of planexe_pipeline/luigi.cfg


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> InstalledPackage:
    return install_wheel(tmp_path_factory.mktemp("installed"))


def peak_in_flight(run_dir: Path) -> int:
    return max(level for _, level in llm_in_flight(read_events(run_dir)))


def test_the_wheel_is_what_runs_and_carries_its_defaults(installed):
    where = installed.run(installed.python, "-c", "import planexe_pipeline; print(planexe_pipeline.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(installed.venv), where.stdout + where.stderr
    version = installed.run("planexe-pipeline", "--version")
    assert version.returncode == 0 and version.stdout.startswith("planexe-pipeline 0."), version.stderr
    assert list(installed.home.iterdir()) == [], "the working folder holds no luigi.cfg"


def test_a_plan_from_an_empty_folder_overlaps_llm_calls_under_the_packaged_cap(installed):
    done = installed.run("planexe-pipeline", "run", "--prompt-id", "solar-farm-denmark", "--run-dir", "plan",
                         "--speed", "fast", "--workers", "8")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "at most 1 LLM call" not in done.stderr
    run_dir = installed.home / "plan"
    assert {e.llm_slots for e in read_events(run_dir, "run")} == {PACKAGED_CAP}
    assert 1 < peak_in_flight(run_dir) <= PACKAGED_CAP
    assert f", cap {PACKAGED_CAP}." in done.stdout


def test_the_luigi_command_line_from_an_empty_folder_overlaps_llm_calls(installed):
    done = installed.run(installed.python, "-m", "luigi", "--module", "planexe_pipeline.pipeline", "FullPlan",
                         "--run-dir", "luigi-plan", "--prompt", "Open a bakery in Lyon.", "--speed", "fast",
                         "--workers", "8", "--local-scheduler")
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = installed.home / "luigi-plan"
    assert (run_dir / "999-pipeline_complete.txt").is_file()
    # Without the packaged [resources] llm, Luigi would allow one call at a time.
    assert 1 < peak_in_flight(run_dir) <= PACKAGED_CAP


def test_the_wheel_carries_the_page_templates(installed):
    # A template left out of the package data fails only when its page is written.
    check = ("from importlib.resources import files; "
             "print(all((files('planexe_pipeline') / t).is_file() "
             "for t in ('report/templates/report.html.j2', 'variants/templates/diff.html.j2')))")
    assert installed.run(installed.python, "-c", check).stdout.strip() == "True"
