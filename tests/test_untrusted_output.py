"""Security of a whole run through `planexe-pipeline run`, as a subprocess:

- LLM output is untrusted: with every text field carrying markup, script and path payloads the
  plan completes, the report shows the payloads as text and runs none of them, and every file the
  run writes has a name the pipeline made, none built from model text;
- an API key substituted into a model's arguments from the environment reaches no file of the
  run folder and no line of the run's output.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from support.files import REPORT_HTML
from support.plan_runs import cli_env, run_to_end, write_llm_config

from planexe_pipeline.llm.config import load_llm_config
from planexe_pipeline.llm.sim_content import HOSTILE_PAYLOADS
from planexe_pipeline.telemetry.event_log import read_events

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

FAKE_KEY = "sk-test-very-secret-1234"
OWNED = Path("/tmp/planexe-owned.txt")  # one of the simulator's path payloads

# Every name a run may give a file, relative to its run folder.
OUR_NAMES = [re.compile(p) for p in (
    r"\d{3}-[a-z0-9_]+\.(json|md|txt|csv|mmd|html|xml|ics|pdf|docx)",  # the plan's files and its exports
    r"\d{3}-[a-z0-9_]+/item-\d{3}\.json",
    r"telemetry/events-[A-Za-z0-9_-]+\.jsonl",
    r"telemetry/run_id\.json", r"telemetry/\.run_id\.lock",  # the run's id (telemetry/correlation.py)
    r"telemetry/expected_work\.json",  # the work the run expects (telemetry/expected_work.py)
    r"telemetry/alerts/[0-9a-f]{32}-[a-z]+(-\d+)?",  # each alert claimed once (telemetry/alerts.py)
    r"telemetry/provider_cache/[A-Za-z0-9._-]+-\d+\.json",  # the simulator's prompt cache (llm/simulator.py)
    r"llm_failures/[A-Za-z0-9]+-(single|item-\d{3})\.txt",
    r"\.run\.lock",
    r"timeline\.html",
    r"run_settings\.json",  # the run's settings (run_settings.py)
    r"records/\d{3}-[A-Za-z0-9_]+\.json", r"records/\d{3}-[a-z0-9_]+/item-\d{3}\.json",  # records.py
)]
OUR_DIRS = re.compile(r"\d{3}-[a-z0-9_]+|telemetry|telemetry/alerts|telemetry/provider_cache|llm_failures|records|"
                      r"records/\d{3}-[a-z0-9_]+")
UNSAFE_SCHEMES = ("javascript:", "data:", "vbscript:")
URL_ATTRIBUTES = {"href", "src", "xlink:href", "action", "formaction"}


class Page(HTMLParser):
    """Elements, attributes and visible text of a page, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if not self._in_style:
            self.text.append(data)


def scheme_of(value: str) -> str:
    """What a browser takes as the URL: control characters and whitespace dropped, case folded."""
    return "".join(c for c in value if ord(c) > 0x20 and ord(c) != 0x7F).casefold()


def test_hostile_llm_text_is_shown_not_run_and_never_names_a_file(tmp_path):
    config = write_llm_config(tmp_path / "llm_config.json",
                              {"hostile": {"seed": 42, "time_scale": 0, "hostile_text": True}})
    owned_before = OWNED.exists()
    run_dir = tmp_path / "run"
    run = run_to_end(run_dir, config, ["hostile"], prompt_id="bakery-lyon")
    assert run.proc.returncode == 0, run.stderr

    html = (run_dir / REPORT_HTML).read_text(encoding="utf-8")
    page = Page()
    page.feed(html)
    page.close()
    assert "script" not in page.tags, "a <script> element in the report"
    injected = sorted({t for t in page.tags if t in ("img", "iframe", "object", "embed", "base", "form")})
    assert not injected, f"elements from model text in the report: {injected}"
    handlers = [(t, n, v) for t, n, v in page.attributes if n.startswith("on")]
    assert not handlers, f"event-handler attributes in the report: {handlers[:5]}"
    unsafe = [(t, n, v) for t, n, v in page.attributes
              if n in URL_ATTRIBUTES and scheme_of(v).startswith(UNSAFE_SCHEMES)]
    assert not unsafe, f"unsafe links in the report: {unsafe[:5]}"
    # The payloads are there, as text a reader sees, escaped in the source.
    text = "".join(page.text)
    shown = [p for p in HOSTILE_PAYLOADS if p in text]
    assert len(shown) == len(HOSTILE_PAYLOADS), f"payloads not shown as text: {set(HOSTILE_PAYLOADS) - set(shown)}"
    assert "&lt;script&gt;alert(" in html and "<script>alert(" not in html

    strays = []
    for path in sorted(run_dir.rglob("*")):
        rel = path.relative_to(run_dir).as_posix()
        if path.is_symlink() or not (path.is_dir() or path.is_file()):
            strays.append(f"{rel} (not a plain file)")
        elif path.is_dir() and not OUR_DIRS.fullmatch(rel):
            strays.append(f"{rel}/")
        elif path.is_file() and not any(p.fullmatch(rel) for p in OUR_NAMES):
            strays.append(rel)
    assert not strays, f"files the pipeline did not name: {strays}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["llm_config.json", "logs", "run"]
    assert OWNED.exists() == owned_before, f"{OWNED} created by the run"


def test_api_key_from_the_environment_reaches_no_file_and_no_output(tmp_path, monkeypatch):
    config = write_llm_config(tmp_path / "llm_config.json", {"keyed": {
        "seed": 42, "time_scale": 0, "model_name": "sim-${PLANEXE_TEST_KEY}",
        # Errors go through their own code paths (telemetry error text, retries): exercise them too.
        "rate_limit_error_rate": 0.2, "malformed_json_rate": 0.05, "timeout_rate": 0.02}})
    # The key really reaches the model: there is something to leak.
    monkeypatch.setenv("PLANEXE_TEST_KEY", FAKE_KEY)
    assert load_llm_config(config)["keyed"].create().metadata.model_name == f"sim-{FAKE_KEY}"

    run_dir = tmp_path / "run"
    run = run_to_end(run_dir, config, ["keyed"], env=cli_env(PLANEXE_TEST_KEY=FAKE_KEY))
    assert run.proc.returncode == 0, run.stderr
    calls = read_events(run_dir, "llm_call")
    assert calls and {e.model for e in calls} == {"keyed"}, "telemetry names the config entry, not its arguments"
    assert any(e.status == "error" for e in calls)

    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert len(files) > 100
    leaks = [str(p.relative_to(run_dir)) for p in files if FAKE_KEY.encode() in p.read_bytes()]
    leaks += [name for name, text in (("stdout", run.stdout), ("stderr", run.stderr)) if FAKE_KEY in text]
    assert not leaks, f"the API key is in: {leaks}"
