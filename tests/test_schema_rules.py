"""What a provider is told about a schema, and how near misses are mended: schema_rules and the
condensed sections (stages/condense.py)."""

from __future__ import annotations

import json
import re
from typing import Literal

import pytest
from llama_index.core.output_parsers import PydanticOutputParser
from pydantic import BaseModel, Field

from planexe_pipeline.llm.executor import LLMExecutor, NamedModel
from planexe_pipeline.llm.schema_rules import SOFT, provider_schema, repair, worst_case_tokens
from planexe_pipeline.llm.structured import SchemaValidationError, build_messages, estimate_tokens, parse_answer
from planexe_pipeline.stages.condense import SECTION_CHARS, outline
from planexe_pipeline.stages.markdown import user_prompt
from planexe_pipeline.stages.project_plan_outline import OutlineAnswer
from planexe_pipeline.stages.review_plan import ReviewAnswer
from planexe_pipeline.telemetry.event_log import read_events
from support.executor_fakes import ScriptedLLM


class Risk(BaseModel):
    title: str
    likelihood: Literal["low", "medium", "high"] = Field(json_schema_extra=SOFT)
    severity: Literal["low", "medium", "high"]  # hard: no mending
    score: int = Field(ge=1, le=5)  # hard


class Register(BaseModel):
    risks: list[Risk] = Field(max_length=3, json_schema_extra=SOFT)
    budget_share: float = Field(ge=0, le=50, json_schema_extra=SOFT)


def risk(**overrides) -> dict:
    return {"title": "Grid delay", "likelihood": "low", "severity": "high", "score": 3, **overrides}


def test_soft_rules_clamp_trim_and_pick_the_nearest_value_with_a_note_each():
    answer = {"risks": [risk(likelihood="Hihg"), risk(), risk(), risk(title="fourth")], "budget_share": 100}
    value, notes = parse_answer(Register, json.dumps(answer))
    assert value.budget_share == 50 and len(value.risks) == 3 and value.risks[0].likelihood == "high"
    assert notes == ["risks: kept the first 3 of 4 items", "risks[0].likelihood: 'Hihg' is not one of low, medium, "
                     "high; read as 'high'", "budget_share: 100 is outside 0..50; clamped to 50"]


@pytest.mark.parametrize("bad", [risk(score=9), risk(severity="Hihg"), risk(likelihood="catastrophic")])
def test_hard_rules_and_values_with_no_obvious_nearest_still_fail(bad):
    with pytest.raises(SchemaValidationError):
        parse_answer(Register, json.dumps({"risks": [bad], "budget_share": 10}))


def test_the_project_plan_answer_of_the_issue_is_mended_not_thrown_away():
    schema = provider_schema(OutlineAnswer)
    from support.fake_openai_server import answer_for

    data = json.loads(answer_for([{"role": "user", "content": "Solar farm"}], schema=schema))
    data["contingency_percent"] = 100
    mended, notes = repair(OutlineAnswer, data)
    assert OutlineAnswer.model_validate(mended).contingency_percent == 50
    assert notes == ["contingency_percent: 100 is outside 0..50; clamped to 50"]


def test_repairs_reach_the_stages_notes_and_telemetry(tmp_path):
    answer = json.dumps({"risks": [risk()], "budget_share": 75})
    executor = LLMExecutor([NamedModel.of("m", ScriptedLLM(answer))], run_dir=tmp_path, stage="Risks", item=2)
    assert executor.structured(Register, "s", "u").budget_share == 50
    notes = (tmp_path / "llm_repairs" / "Risks-item-002.txt").read_text()
    assert notes == "budget_share: 75 is outside 0..50; clamped to 50\n"
    assert [line.repairs for line in read_events(tmp_path, kind="llm_call")] == [1]


def test_provider_schema_is_bounded_and_the_budget_covers_its_longest_answer():
    schema = provider_schema(ReviewAnswer)
    findings = schema["properties"]["findings"]
    assert findings["maxItems"] == 6 and findings["items"]["maxLength"] == 240, "declared beside the field"
    assert schema["properties"]["summary"]["maxLength"] > findings["items"]["maxLength"] / 2
    longest = {name: ("x" * sub["maxLength"] if sub["type"] == "string"
                      else ["é" * sub["items"]["maxLength"]] * sub["maxItems"])
               for name, sub in schema["properties"].items()}
    text = json.dumps(longest, indent=1, ensure_ascii=False)
    assert estimate_tokens(text) <= worst_case_tokens(schema)


def test_the_prompt_mode_shows_the_schema_as_llama_index_does_less_our_marks():
    (system, _) = build_messages(ReviewAnswer, "sys", "u")
    shown = PydanticOutputParser(ReviewAnswer).get_format_string(escape_json=False)
    unmarked = re.sub(r', "x-(?:max-items|max-chars|soft)": (?:\d+|true)', "", shown)
    assert unmarked != shown and system.content == "sys\n" + unmarked, "bounds never reach the prompt"
    (system, _) = build_messages(Register, "sys", "u")
    assert "x-soft" not in system.content and '"maximum": 50' in system.content


def test_an_outline_is_bounded_whatever_the_length_of_the_section():
    section = "## Team\n\n" + "\n".join(
        f"### M-{i} Site Lead\n\n" + "The lead secures permits early. " * 40 + "\n\n- T-1.1 Survey: walk it. " * 5
        for i in range(1, 60))
    condensed = outline(section)
    assert len(condensed) <= SECTION_CHARS + 80 and condensed.startswith("## Team\n### M-1 Site Lead")
    assert "The lead secures permits early." in condensed and "more lines in the full section" in condensed
    longer = outline(section.replace("early. ", "early. " * 4))
    assert longer.rsplit("\n", 1)[0] == condensed.rsplit("\n", 1)[0], "sections four times longer, the same outline"
    assert len(user_prompt(plan="p", team=section)) < 6200, "no section is sent whole beyond its limit"
