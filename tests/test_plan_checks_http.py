"""The plan's checks through the real OpenAI-compatible client, against the loopback server in the
strict `json_schema` mode: the screening's choice of two shapes, the directives, one adherence
call per directive and one audit call per check, on a folder whose other stages are written by
hand; a directive the plan contradicts, judged so by a judge that reads the prompt it is sent,
listed first; and an unusable prompt stopping `planexe-pipeline run` with one line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import luigi
import pytest

from planexe_pipeline.stages.directive_adherence import RATING_SCORES
from planexe_pipeline.stages.directives import Directive, DirectiveList
from planexe_pipeline.stages.self_audit import CHECKLIST
from planexe_pipeline.tasks.checks import (DirectiveAdherence, DirectiveAdherenceItem, ExtractDirectives,
                                           ScreenPrompt, SelfAudit, SelfAuditItem)
from planexe_pipeline.telemetry.event_log import read_events
from support.files import items_dir, plan_file
from support.plan_runs import REPO, cli_env
from support.synthesis_folder import PLAN, build, prepopulate

pytest.importorskip("llama_index.llms.openai_like")
pytestmark = pytest.mark.timeout(120)

CHECKS = (ScreenPrompt, ExtractDirectives, DirectiveAdherenceItem, DirectiveAdherence, SelfAuditItem, SelfAudit)


def model_config(tmp_path: Path, server) -> Path:
    path = tmp_path / "llm_config.json"
    path.write_text(json.dumps({"models": {"m": {
        "class": "OpenAILike", "structured_output": "json_schema", "context_window": 16384,
        "arguments": {"model": "fake-model", "api_base": server.url + "/v1", "api_key": "k", "timeout": 10.0}}}}))
    return path


def checks_folder(run_dir: Path) -> None:
    """Every input of the checks written by hand, as finished stages leave them."""
    tasks = [ScreenPrompt(run_dir=str(run_dir)), ExtractDirectives(run_dir=str(run_dir)),
             DirectiveAdherenceItem(run_dir=str(run_dir), index=0), SelfAuditItem(run_dir=str(run_dir), index=0)]
    upstream = {t.task_id: t for task in tasks for t in luigi.task.flatten(task.requires()) if type(t) not in CHECKS}
    prepopulate(run_dir, upstream.values())


def schema_of(request: dict) -> dict:
    return request["body"]["response_format"]["json_schema"]["schema"]


def test_the_checks_run_through_the_real_client_in_strict_json_schema_mode(tmp_path, fake_openai_server):
    run_dir = tmp_path / "run"
    checks_folder(run_dir)
    config = model_config(tmp_path, fake_openai_server)
    common = {"run_dir": str(run_dir), "llm": "m", "llm_config": str(config)}
    build([ScreenPrompt(**common), DirectiveAdherence(**common), SelfAudit(**common)], workers=2)

    screening = json.loads((run_dir / plan_file("ScreenPrompt")).read_text())
    assert screening["verdict"] == "usable" and screening["goal"]
    listed = DirectiveList.model_validate_json((run_dir / plan_file("ExtractDirectives")).read_text())
    assert [d.id for d in listed.directives] == [f"DIR-{i}" for i in range(1, len(listed.directives) + 1)]
    adherence = json.loads((run_dir / plan_file("DirectiveAdherence")).read_text())
    assert sorted(a["directive"]["id"] for a in adherence["directives"]) == sorted(d.id for d in listed.directives)
    ranks = [list(RATING_SCORES).index(a["rating"]) for a in adherence["directives"]]
    assert ranks == sorted(ranks), "worst first"
    assert len(list((run_dir / items_dir("DirectiveAdherenceItem")).iterdir())) == len(listed.directives)
    audit = json.loads((run_dir / plan_file("SelfAudit")).read_text())
    assert [i["id"] for i in audit["items"]] == [c.id for c in CHECKLIST]

    requests = fake_openai_server.chat_requests()
    assert len(requests) == 2 + len(listed.directives) + len(CHECKLIST)
    assert all(r["body"]["response_format"]["type"] == "json_schema" and
               r["body"]["response_format"]["json_schema"]["strict"] for r in requests)
    (screen,) = [r for r in requests if "screening" in schema_of(r).get("properties", {})]
    shapes = schema_of(screen)["properties"]["screening"]["anyOf"]
    assert [s["properties"]["verdict"]["const"] for s in shapes] == ["usable", "unusable"]
    assert all(s["additionalProperties"] is False for s in shapes), "each shape closed, as strict mode demands"
    assert {c.status for c in read_events(run_dir, "llm_call")} == {"ok"}


BANNED = {"DIR-2": "diesel"}  # what the judge looks for in the plan, per directive
CRAFTED_PLAN = """## Project plan

### Scope

- Build the bakery's wood-fired oven in the Croix-Rousse premises.
- Backup power: two diesel generators behind the bakery, for the oven's fans.
- Sell to cafes and weekend markets from month 4.
"""


def judge(messages: list[dict], schema: dict | None) -> str | None:
    """An adherence judge that reads what it is sent: a banned item that the project plan section
    names is contradicted, quoting the plan; anything else is honoured. Other calls: the usual."""
    if not schema or "rating" not in schema.get("properties", {}):
        return None
    user = next(m["content"] for m in messages if m["role"] == "user")
    directive = re.search(r"^# Directive\n\n(DIR-\d+)", user, flags=re.M).group(1)
    project_plan = user.split("# Project plan", 1)[1].split("\n# ", 1)[0]
    word = BANNED.get(directive)
    quote = next((line.strip("- ") for line in project_plan.splitlines() if word and word in line), None)
    if quote:
        return json.dumps({"rating": "contradicted", "evidence": f"Project plan, scope: '{quote}'",
                           "issue": f"The plan uses {word} generators, which the user banned."})
    return json.dumps({"rating": "fully honoured", "evidence": "Project plan, scope.", "issue": ""})


def test_a_directive_the_plan_contradicts_is_scored_so_and_listed_first(tmp_path, fake_openai_server):
    run_dir = tmp_path / "run"
    checks_folder(run_dir)
    crafted = DirectiveList(directives=[
        Directive(id="DIR-1", kind="intent", statement="Open a sourdough bakery in Lyon.", importance="critical"),
        Directive(id="DIR-2", kind="banned", statement="No diesel generators: the bakery runs on grid power only.",
                  importance="high"),
        Directive(id="DIR-3", kind="requirement", statement="Sell to cafes and weekend markets.", importance="medium")])
    (run_dir / plan_file("ExtractDirectives")).write_text(crafted.model_dump_json())
    (run_dir / plan_file("ExtractDirectives", "md")).write_text("## Directives\n")
    (run_dir / plan_file("ProjectPlan", "md")).write_text(CRAFTED_PLAN)
    fake_openai_server.answer_with = judge
    build([DirectiveAdherence(run_dir=str(run_dir), llm="m", llm_config=str(model_config(tmp_path, fake_openai_server)))],
          workers=2)

    report = json.loads((run_dir / plan_file("DirectiveAdherence")).read_text())
    first = report["directives"][0]
    assert (first["directive"]["id"], first["rating"]) == ("DIR-2", "contradicted")
    assert "two diesel generators behind the bakery" in first["evidence"]
    assert [a["rating"] for a in report["directives"][1:]] == ["fully honoured", "fully honoured"]
    assert report["overall_percent"] == round((4 * 100 + 3 * 0 + 2 * 100) / 9)
    markdown = (run_dir / plan_file("DirectiveAdherence", "md")).read_text()
    rows = [line for line in markdown.splitlines() if line.startswith("| DIR-")]
    assert rows[0].startswith("| DIR-2 | contradicted | high |")
    assert "#### DIR-2 contradicted" in markdown and "diesel generators behind the bakery" in markdown


def run_cli(run_dir: Path, config: Path, *extra: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "planexe_pipeline", "run", "--run-dir", str(run_dir), "--llm-config", str(config),
            "--llm", "m", "--workers", "4", "--speed", "fast", "--start-date", "2027-01-04", *extra]
    return subprocess.run(argv, cwd=REPO, env=cli_env(), capture_output=True, text=True, timeout=90)


def screening_requests(server) -> int:
    return sum("screening" in schema_of(r).get("properties", {}) for r in server.chat_requests())


def test_an_unusable_prompt_stops_the_run_with_one_line_and_a_rerun_stops_the_same_way(tmp_path, fake_openai_server):
    config = model_config(tmp_path, fake_openai_server)
    fake_openai_server.unusable_prompts = ["asdf"]
    run_dir = tmp_path / "run"
    done = run_cli(run_dir, config, "--prompt", "asdf asdf qwerty test")
    errors = [line.split(" [run ")[0] for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 1, done.stderr[-2000:]
    assert len(errors) == 1 and errors[0].startswith("error: the prompt is unusable ("), done.stderr
    assert "Change the prompt: " in errors[0] and "--no-screen" in errors[0]
    assert "rerun with --run-dir" not in done.stderr, "a plain rerun would stop the same way"
    verdict = json.loads((run_dir / plan_file("ScreenPrompt")).read_text())
    assert verdict["verdict"] == "unusable" and (run_dir / plan_file("Setup", "plan")).is_file()
    assert screening_requests(fake_openai_server) == 1

    again = run_cli(run_dir, config)  # the same folder, resumed
    assert again.returncode == 1
    assert [line.split(" [run ")[0] for line in again.stderr.splitlines() if line.startswith("error:")] == errors
    assert screening_requests(fake_openai_server) == 1, "the kept verdict is read back, not asked again"
