"""A stage that kept a degenerate answer says so where a reader sees it: under the title of its
markdown section (and so in the report) and in its JSON; a fan-out's merge carries its items'
flags. A stage whose answers were fine is written exactly as before. The stages run under Luigi
against the loopback OpenAI-compatible server (tests/support/fake_openai_server.py)."""

from __future__ import annotations

import json
from pathlib import Path

import luigi
import pytest
from pydantic import BaseModel

from planexe_pipeline.stages.markdown import FLAGS_KEY, document, with_flags
from planexe_pipeline.tasks.assumptions import CurrencyStrategy, IdentifyRisks
from planexe_pipeline.tasks.fanout import FanOutItem, FanOutMerge
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


class Levers(BaseModel):
    levers: list[str]


def draft_levers(llm, item: str) -> Levers:
    return llm.structured(Levers, "You list strategic levers.", f"# Plan\n\nA solar farm: {item}.")


def merge_levers(results: list[Levers]) -> Levers:
    return Levers(levers=[lever for result in results for lever in result.levers])


class FlaggedLeverItem(FanOutItem[str]):
    number, stem, group = 990, "flagged_levers", "test"
    result_model = Levers
    execute = draft_levers

    def all_items(self) -> list[str]:
        return ["grid", "land", "panels"]


class FlaggedLevers(FanOutMerge):
    item_task = FlaggedLeverItem
    execute = merge_levers

    @staticmethod
    def to_markdown(merged: Levers) -> str:
        return document("Levers", *merged.levers)


def test_a_merge_carries_the_flags_of_its_items(tmp_path, fake_openai_server):
    looping = json.dumps({"levers": ["Grid link"] * 6})
    fake_openai_server.answer_next(looping, looping)  # one item's answer and its retry; the others are fine
    run_dir = tmp_path / "run"
    assert luigi.build([FlaggedLevers(run_dir=str(run_dir), **fake_model(tmp_path, fake_openai_server.url))],
                       local_scheduler=True, workers=1)
    items = [json.loads((run_dir / "990-flagged_levers" / f"item-{i:03d}.json").read_text()) for i in range(3)]
    flagged = [i for i, item in enumerate(items) if FLAGS_KEY in item]
    assert len(flagged) == 1
    (index,) = flagged
    assert items[index][FLAGS_KEY] == ["levers: 5 of its 6 items repeat an earlier one"]
    merged = json.loads((run_dir / "990-flagged_levers.json").read_text())
    assert merged[FLAGS_KEY] == [f"item {index}: levers: 5 of its 6 items repeat an earlier one"]
    assert f"> - item {index}: levers: 5 of its 6 items" in (run_dir / "990-flagged_levers.md").read_text()
