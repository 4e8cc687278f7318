"""Bad input is refused up front: one line that says what to do, a non-zero exit, nothing written."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pytest

from planexe_pipeline.cli import main
from planexe_pipeline.llm import config as llm_config
from planexe_pipeline.prompt_input import fingerprint
from planexe_pipeline.run_folder import RunFolderLock


def snapshot(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(capsys, argv: list[str], expected: str, exit_code: int | None = None) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code not in (0, None), f"accepted: {argv}"
    if exit_code is not None:
        assert code == exit_code
    lines = err.splitlines()
    assert len(lines) == 1, f"want one line, got: {err!r}"
    assert expected in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def run_dir(tmp_path):
    return tmp_path / "run"


def run_args(run_dir: Path, *extra: str) -> list[str]:
    return ["run", "--run-dir", str(run_dir), "--llm", "simulated-instant", *extra]


@pytest.mark.parametrize("prompt", ["", "   \n\t  "])
def test_empty_prompt(capsys, run_dir, prompt):
    refused(capsys, run_args(run_dir, "--prompt", prompt), "the prompt is empty", 2)
    assert not run_dir.exists()


def test_prompt_over_the_limit(capsys, run_dir):
    refused(capsys, run_args(run_dir, "--prompt", "word " * 2000), "over the limit of 8000", 2)
    assert not run_dir.exists()


def test_prompt_file_missing(capsys, run_dir, tmp_path):
    refused(capsys, run_args(run_dir, "--prompt-file", str(tmp_path / "nope.txt")), "does not exist", 2)
    assert not run_dir.exists()


def test_prompt_file_that_is_a_folder(capsys, run_dir, tmp_path):
    refused(capsys, run_args(run_dir, "--prompt-file", str(tmp_path)), f"prompt file {tmp_path} is a folder", 2)
    assert not run_dir.exists()


def test_prompt_file_not_utf8(capsys, run_dir, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Ouvrir une boulangerie à Lyon, près de la gare".encode("latin-1"))
    refused(capsys, run_args(run_dir, "--prompt-file", str(bad)), "is not UTF-8", 2)
    assert not run_dir.exists()


def test_prompt_file_binary(capsys, run_dir, tmp_path):
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    refused(capsys, run_args(run_dir, "--prompt-file", str(blob)), "is binary", 2)
    assert not run_dir.exists()


def test_unknown_prompt_id(capsys, run_dir):
    refused(capsys, run_args(run_dir, "--prompt-id", "no-such-idea"), "planexe-pipeline prompts", 2)
    assert not run_dir.exists()


def test_unknown_model(capsys, run_dir):
    line = refused(capsys, ["run", "--run-dir", str(run_dir), "--prompt", "Open a bakery in Lyon.", "--llm", "gpt-17"],
                   "unknown model 'gpt-17'", 2)
    assert "simulated" in line  # names what would work
    assert not run_dir.exists()


def test_model_with_unset_api_key(capsys, run_dir, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    refused(capsys, ["run", "--run-dir", str(run_dir), "--prompt", "Open a bakery in Lyon.",
                     "--llm", "openai-gpt-4o-mini"], "OPENAI_API_KEY", 2)
    assert not run_dir.exists()


def test_malformed_llm_config(capsys, run_dir, tmp_path):
    config = tmp_path / "llm_config.json"
    config.write_text('{"models": {"x": {"class": "Simulated", }}')
    refused(capsys, ["run", "--run-dir", str(run_dir), "--prompt", "Open a bakery in Lyon.", "--llm", "x",
                     "--llm-config", str(config)], "is not valid JSON", 2)
    assert not run_dir.exists()


def test_ollama_in_the_tools_mode_is_refused(capsys, run_dir, tmp_path):
    """The ollama client keeps only type, items, description and enum of a tool's parameters:
    a nested object would reach the model with no fields and no bounds."""
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {"o": {"class": "Ollama", "structured_output": "tools", "arguments": {
        "model": "llama3.1:8b", "base_url": "http://127.0.0.1:9"}}}}))
    line = refused(capsys, ["run", "--run-dir", str(run_dir), "--prompt", "Open a bakery in Lyon.", "--llm", "o",
                            "--llm-config", str(config)], "structured_output 'tools' is not supported for class Ollama", 2)
    assert "ollama_format" in line  # what to use instead
    assert not run_dir.exists()


@pytest.mark.parametrize("entry, expected", [
    ({"class": "OpenAILike", "arguments": {"model": "m", "api_base": "http://127.0.0.1:9/v1"}}, '"context_window": N'),
    ({"class": "OpenAILike", "structured_output": "ollama_format", "context_window": 8192, "arguments": {"model": "m"}},
     "structured_output 'ollama_format' is not one class OpenAILike can send"),
    ({"class": "Ollama", "arguments": {"model": "m"}}, "pip install 'planexe-pipeline[ollama]'"),
])
def test_a_bad_model_entry_stops_the_run_before_anything_is_written(capsys, run_dir, tmp_path, monkeypatch,
                                                                     entry, expected):
    # The ollama extra as if it were not installed.
    monkeypatch.setitem(llm_config.MODEL_CLASSES, "Ollama", dataclasses.replace(
        llm_config.MODEL_CLASSES["Ollama"], module="planexe_missing_extra.ollama"))
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {"bad": entry}}))
    refused(capsys, ["run", "--run-dir", str(run_dir), "--prompt", "Open a bakery in Lyon.", "--llm", "bad",
                     "--llm-config", str(config)], expected, 2)
    assert not run_dir.exists()


@pytest.mark.parametrize("workers", ["0", "-3", "many"])
def test_bad_worker_count(capsys, run_dir, workers):
    refused(capsys, run_args(run_dir, "--prompt", "Open a bakery in Lyon.", "--workers", workers),
            "at least 1", 2)
    assert not run_dir.exists()


def test_run_folder_of_another_prompt(capsys, run_dir):
    run_dir.mkdir()
    (run_dir / "001-plan.txt").write_text("Build a solar farm in Denmark.\n")
    (run_dir / "001-plan_fingerprint.json").write_text(json.dumps(fingerprint("Build a solar farm in Denmark.\n", "full")))
    (run_dir / "004-identify_purpose.json").write_text('{"kept": true}')
    before = snapshot(run_dir)
    refused(capsys, run_args(run_dir, "--prompt", "Open a bakery in Lyon."), "holds a plan for another prompt", 2)
    assert snapshot(run_dir) == before


def test_run_folder_of_another_speed(capsys, run_dir):
    run_dir.mkdir()
    (run_dir / "001-plan_fingerprint.json").write_text(json.dumps(fingerprint("Open a bakery in Lyon.\n", "fast")))
    before = snapshot(run_dir)
    refused(capsys, run_args(run_dir, "--prompt", "Open a bakery in Lyon.", "--speed", "full"), "--speed fast", 2)
    assert snapshot(run_dir) == before


def test_run_folder_that_is_a_file(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = refused(capsys, run_args(blocker, "--prompt", "Open a bakery in Lyon."), f"run folder {blocker} is a file", 2)
    assert "not writable" not in line and "File exists" not in line
    refused(capsys, run_args(blocker / "run", "--prompt", "Open a bakery in Lyon."), f"{blocker} is a file", 2)
    refused(capsys, ["status", str(blocker)], f"{blocker} is a file, not a run folder", 2)
    assert blocker.read_text() == "not a folder"


def test_run_folder_not_writable(capsys, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):
        pytest.skip("running as a user that writes anywhere (root)")
    refused(capsys, run_args(locked / "run", "--prompt", "Open a bakery in Lyon."), "is not writable", 2)


def test_a_run_on_a_busy_folder_prints_nothing_before_its_refusal(capsys, run_dir):
    prompt = "Open a bakery in Lyon.\n"
    run_dir.mkdir()
    (run_dir / "001-plan.txt").write_text(prompt)
    (run_dir / "001-plan_fingerprint.json").write_text(json.dumps(fingerprint(prompt, "fast")))
    with RunFolderLock(run_dir):  # another run holds the folder
        before = snapshot(run_dir)
        code = main(run_args(run_dir))
        after = snapshot(run_dir)
    out, err = capsys.readouterr()
    assert code == 2 and out == "", out  # no "Resuming ...", no "Plan run in ...", no provider limits
    assert err.splitlines() == [f"planexe-pipeline: error: run folder {run_dir} is being run by another process "
                                "right now: wait for it to finish, or use another --run-dir"], err
    assert after == before


def test_no_prompt_and_no_earlier_run(capsys, run_dir):
    refused(capsys, run_args(run_dir), "no prompt given", 2)
    assert not run_dir.exists()


def test_bad_start_date(capsys, run_dir):
    refused(capsys, run_args(run_dir, "--prompt", "Open a bakery in Lyon.", "--start-date", "next monday"),
            "YYYY-MM-DD", 2)
    assert not run_dir.exists()


def test_stats_of_missing_folder(capsys, tmp_path):
    refused(capsys, ["stats", str(tmp_path / "nothing")], "does not exist", 2)
