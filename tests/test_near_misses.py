"""Near misses of JSON syntax are mended before a retry is spent on them, and each mend is named:
crafted answers served by the loopback OpenAI-compatible server (tests/support/fake_openai_server.py)
to the real llama-index client, in llama-cpp-python's dialect (`json_object_schema`), through
LLMExecutor. What is not a near miss (an answer that stops mid-object without the provider saying
it cut it) still fails and is retried."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from planexe_pipeline.errors import LLMCallFailed
from planexe_pipeline.llm.config import load_llm_config, resolve_models
from planexe_pipeline.llm.executor import LLMExecutor, NamedModel, RetryPolicy
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.stats import stats_from_events
from planexe_pipeline.telemetry.stats_table import format_stats
from support.fakes import Lever, Sleeps

pytest.importorskip("llama_index.llms.openai_like")


class Levers(BaseModel):
    levers: list[Lever] = Field(min_length=2)


PROMPT = "Find the strategic levers of a 5 MW solar farm in Denmark."
LEVERS = [{"name": "Grid connection", "description": "Book the grid connection before the panels are ordered.",
           "weight": 4},
          {"name": "Land lease", "description": "Lease farmland for thirty years with an option to extend.",
           "weight": 3},
          {"name": "Panel supplier", "description": "Compare three panel suppliers on price and warranty.",
           "weight": 2}]
VALID = json.dumps({"levers": LEVERS})


def call(tmp_path: Path, url: str, mode: str = "json_object_schema") -> Levers:
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {"m": {
        "class": "OpenAILike", "structured_output": mode, "context_window": 8192,
        "arguments": {"model": "fake-model", "api_base": url + "/v1", "api_key": "k", "timeout": 5.0}}}}))
    entries = resolve_models(["m"], load_llm_config(config))
    sleeps = Sleeps()
    return LLMExecutor([NamedModel.from_entry(e) for e in entries], run_dir=tmp_path, stage="PotentialLevers",
                       policy=RetryPolicy(initial_wait_s=0.0, jitter_s=0.0), sleep=sleeps,
                       async_sleep=sleeps.a).structured(Levers, "You list strategic levers.", PROMPT)


def notes(tmp_path: Path) -> list[str]:
    return (tmp_path / "llm_repairs" / "PotentialLevers-single.txt").read_text().splitlines()


@pytest.mark.parametrize("answer, note", [
    # The near miss the real-model check lost two attempts to: a raw control character in a string.
    (VALID.replace("before the panels", "before the\tpanels").replace("thirty years", "thirty\nyears"),
     "read 2 raw control characters inside strings as text"),
    (f"```json\n{VALID}\n```", "removed the code fence around the JSON object"),
    (VALID.replace('"weight": 4}', '"weight": 4,}').replace("}]}", "},]}"),
     "removed 2 trailing commas before a closing bracket"),
    (f"Here are the levers you asked for:\n{VALID}", "dropped 34 characters of text before the JSON object"),
    (f"{VALID}\nLet me know if you need more.", "dropped 29 characters of text after the JSON object"),
    (VALID.replace('"', "'"), "mended other JSON syntax slips (quotes, commas) with json_repair"),
], ids=["control-characters", "code-fence", "trailing-commas", "text-before", "text-after", "single-quotes"])
def test_a_near_miss_is_mended_in_the_same_attempt_and_named(tmp_path, fake_openai_server, answer, note):
    fake_openai_server.answer_next(answer)
    result = call(tmp_path, fake_openai_server.url)
    assert [lever.name for lever in result.levers] == ["Grid connection", "Land lease", "Panel supplier"]
    assert fake_openai_server.count() == 1, "no retry spent on a near miss"
    assert note in notes(tmp_path)
    (line,) = read_events(tmp_path, kind="llm_call")
    assert line.status == "ok" and line.repairs == len(notes(tmp_path)) >= 1
    stats = stats_from_events(read_events(tmp_path))  # what `planexe-pipeline stats` shows
    assert (stats.stages[0].retries, stats.stages[0].repairs) == (0, line.repairs)
    assert f"{line.repairs} near misses mended, 0 degenerate places flagged" in format_stats(stats)


def test_the_raw_control_character_keeps_its_meaning(tmp_path, fake_openai_server):
    fake_openai_server.answer_next(VALID.replace("thirty years", "thirty\nyears"))
    assert call(tmp_path, fake_openai_server.url).levers[1].description.startswith("Lease farmland for thirty\nyears")


def test_a_valid_answer_is_not_noted(tmp_path, fake_openai_server):
    fake_openai_server.answer_next(VALID)
    call(tmp_path, fake_openai_server.url)
    assert not (tmp_path / "llm_repairs").exists()
    assert read_events(tmp_path, kind="llm_call")[0].repairs == 0


def test_a_cut_answer_keeps_the_items_it_finished(tmp_path, fake_openai_server):
    cut = VALID[: VALID.index("Compare three")]  # inside the third lever
    fake_openai_server.answer_next(cut, finish_reason="length")
    result = call(tmp_path, fake_openai_server.url)
    assert [lever.name for lever in result.levers] == ["Grid connection", "Land lease"]
    assert fake_openai_server.count() == 1, "no retry with a larger budget was needed"
    assert notes(tmp_path) == ["levers: the answer was cut by the output limit; dropped its unfinished last item "
                               "and kept the 2 before it"]
    (line,) = read_events(tmp_path, kind="llm_call")
    assert (line.status, line.finish_reason, line.repairs) == ("ok", "length", 1)


def test_a_cut_answer_too_short_for_its_list_is_retried_with_a_larger_budget(tmp_path, fake_openai_server):
    cut = VALID[: VALID.index("Book the grid")]  # inside the first lever: one finished item is too few
    fake_openai_server.answer_next(cut, finish_reason="length")
    assert len(call(tmp_path, fake_openai_server.url).levers) >= 2
    first, second = (r["body"]["max_tokens"] for r in fake_openai_server.chat_requests())
    assert second > first
    assert [line.finish_reason for line in read_events(tmp_path, kind="llm_call")] == ["length", "stop"]


def test_an_answer_that_stops_mid_object_unannounced_is_not_mended(tmp_path, fake_openai_server):
    """Without the provider's word that it cut the answer, half an object is a broken answer
    (the simulator's malformed-JSON fault): it fails, is retried, and nothing is noted."""
    cut = VALID[: VALID.index("Compare three")]
    fake_openai_server.answer_next(cut, cut)
    with pytest.raises(LLMCallFailed, match="not valid Levers JSON: the JSON object never closes"):
        call(tmp_path, fake_openai_server.url)
    assert fake_openai_server.count() == 2
    assert not (tmp_path / "llm_repairs").exists()


def test_a_near_miss_in_the_prompt_mode_is_mended_too(tmp_path, fake_openai_server):
    fake_openai_server.answer_next(f"Sure! ```json\n{VALID}\n```")
    assert len(call(tmp_path, fake_openai_server.url, mode="prompt").levers) == 3
    assert notes(tmp_path) == ["removed the code fence around the JSON object",
                               "dropped 5 characters of text before the JSON object"]
