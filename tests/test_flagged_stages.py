"""A stage that kept a degenerate answer says so where a reader sees it: under the title of its
markdown section (and so in the report) and in its JSON; a fan-out's merge carries its items'
flags. A stage whose answers were fine is written exactly as before. The stages run under Luigi
against the loopback OpenAI-compatible server (tests/support/fake_openai_server.py)."""

from __future__ import annotations

import json
from pathlib import Path

import luigi
import pytest

from planexe_pipeline.stages.markdown import FLAGS_KEY, document, with_flags
from planexe_pipeline.tasks.assumptions import CurrencyStrategy, IdentifyRisks
from planexe_pipeline.tasks.experts import ExpertsFound, FindExpertsItem
from planexe_pipeline.tasks.plan import ProjectPlan
from support.bakery_prompt import PROMPT

pytest.importorskip("llama_index.llms.openai_like")

IDENTICAL = json.dumps({"risks": [{"title": "Risk", "category": "financial", "description": "The bakery may fail.",
                                   "likelihood": "low", "impact": "low", "mitigation": "Plan well.",
                                   "early_warning": "Sales fall."}] * 8,
                        "summary": "The risks are financial and can be watched through monthly sales."})
FLAG = "risks: 7 of its 8 items repeat an earlier one"


def fake_model(tmp_path: Path, url: str) -> dict:
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {"fake": {
        "class": "OpenAILike", "structured_output": "json_object_schema", "context_window": 16384,
        "arguments": {"model": "fake-model", "api_base": url + "/v1", "api_key": "k", "timeout": 5.0}}}}))
    return {"llm": "fake", "llm_config": str(config)}


def test_a_kept_degenerate_answer_is_flagged_in_the_stage_s_markdown_and_json(tmp_path, fake_openai_server):
    run_dir = tmp_path / "run"
    params = {"run_dir": str(run_dir), "prompt": PROMPT, **fake_model(tmp_path, fake_openai_server.url)}
    assert luigi.build([CurrencyStrategy(**params)], local_scheduler=True, workers=1)
    fake_openai_server.answer_next(IDENTICAL, IDENTICAL)
    assert luigi.build([IdentifyRisks(**params)], local_scheduler=True, workers=1)

    files = IdentifyRisks.files
    markdown = (run_dir / files["md"]).read_text()
    title, blank, note = markdown.splitlines()[:3]
    assert (title, blank) == ("## Risks", "")
    assert note.startswith("> **Quality flag:** the model's answer looked degenerate here")
    assert f"> - {FLAG}" in markdown
    data = json.loads((run_dir / files["json"]).read_text())
    assert data[FLAGS_KEY] == [FLAG] and len(data["risks"]) == 8

    # The other stages' answers were fine: no flag in their files.
    clean = json.loads((run_dir / CurrencyStrategy.files["json"]).read_text())
    assert FLAGS_KEY not in clean and "Quality flag" not in (run_dir / CurrencyStrategy.files["md"]).read_text()


def test_sections_without_flags_are_left_byte_for_byte():
    section = document("Risks", "Some text.")
    assert with_flags(section, []) is section


def repeat_the_first_item(valid: str) -> str:
    """The answer the server would give, with its first list's items all alike: a loop."""
    data = json.loads(valid)
    key = next(k for k, v in data.items() if isinstance(v, list) and len(v) >= 3)
    data[key] = [data[key][0]] * len(data[key])
    return json.dumps(data)


def test_a_merge_carries_the_flags_of_its_items(tmp_path, fake_openai_server):
    run_dir = tmp_path / "run"
    params = {"run_dir": str(run_dir), "prompt": PROMPT, **fake_model(tmp_path, fake_openai_server.url)}
    assert luigi.build([ProjectPlan(**params)], local_scheduler=True, workers=1)
    # One expert query's answer and its retry loop; the other query's answer is fine.
    fake_openai_server.answer_next(repeat_the_first_item, repeat_the_first_item)
    assert luigi.build([ExpertsFound(**params)], local_scheduler=True, workers=1)

    items = [json.loads(path.read_text()) for path in sorted((run_dir / FindExpertsItem.stage_dir).iterdir())]
    flagged = [i for i, item in enumerate(items) if FLAGS_KEY in item]
    assert len(items) == 2 and len(flagged) == 1
    (index,) = flagged
    (flag,) = items[index][FLAGS_KEY]
    assert "items repeat an earlier one" in flag
    merged = json.loads((run_dir / ExpertsFound.files["json"]).read_text())
    assert merged[FLAGS_KEY] == [f"item {index}: {flag}"]
    assert f"> - item {index}: {flag}" in (run_dir / ExpertsFound.files["md"]).read_text()
