"""An agent revises a plan through MCP: plan_edit (checked as a rerun checks an edit), plan_status
showing what is stale and the plan's parent, plan_resume redoing it, plan_redo with a remark."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from support.files import plan_file
from support.mcp_client import connect_stdio
from support.plan_runs import START_DATE, write_llm_config

from planexe_pipeline.pipeline import PLAN

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SCENARIO = plan_file("SelectScenario")
NOTE = "Choose the phased roll-out"


def test_an_agent_edits_a_plan_resumes_it_and_asks_one_expert_again(tmp_path):
    config = write_llm_config(tmp_path / "llm_config.json", {"instant": {"seed": 42, "time_scale": 0}})
    root = tmp_path / "root"

    async def scenario():
        async with connect_stdio(root, config) as client:
            assert {"plan_edit", "plan_redo"} <= {t.name for t in (await client.session.list_tools()).tools}
            run_id = (await client.call("plan_create", sample_id="bakery-lyon", models=["instant"], speed="fast",
                                        workers=4, start_date=START_DATE))["run_id"]
            done = await client.wait_for_end(run_id)
            assert done["state"] == "done" and done["revision"]["redo_tasks"] == 0 and done["parent"] is None

            data = json.loads((root / run_id / SCENARIO).read_text())
            broken = await client.refusal("plan_edit", run_id=run_id, name=SCENARIO,
                                          content=json.dumps({"scenario": {"id": "S-9"}}))
            assert "no longer fits SelectScenario's answer: field 'scenario.name'" in broken and "\n" not in broken
            assert json.loads((root / run_id / SCENARIO).read_text()) == data  # nothing was changed
            outside = await client.refusal("plan_edit", run_id=run_id, name="../x.json", content="{}")
            assert "leaves the run folder" in outside

            data["scenario"]["name"] = "Phased Roll-out Plan"
            edited = await client.call("plan_edit", run_id=run_id, name=SCENARIO, content=json.dumps(data, indent=2))
            downstream = {key for key in PLAN.instances(str(root / run_id)).downstream_of([("SelectScenario", None)])
                          if PLAN.nodes[key[0]].cls.in_this_run()}  # not an export format it does not write
            assert edited["edited"] == [SCENARIO] and edited["redo_tasks"] == len(downstream)
            status = await client.call("plan_status", run_id=run_id)
            assert status["state"] == "done" and status["revision"]["redo_tasks"] == len(downstream)
            assert "plan_resume redoes" in status["hint"]
            await client.call("plan_resume", run_id=run_id)
            again = await client.wait_for_end(run_id)
            assert again["state"] == "done" and again["revision"]["redo_tasks"] == 0
            assert "Phased Roll-out Plan" in (root / run_id / "070-plan.md").read_text()

            redone = await client.call("plan_redo", run_id=run_id, stage="expert_criticism", item=1, note=NOTE)
            assert redone["redone"]["redo"][0] == "ExpertCriticismItem[1]" and "ExpertCriticismItem[0]" \
                not in redone["redone"]["redo"]
            assert (await client.wait_for_end(run_id))["state"] == "done"
            assert NOTE in (root / run_id / "070-plan.md").read_text()

            fork = (await client.call("plan_fork", run_id=run_id))["run_id"]
            assert (await client.call("plan_status", run_id=fork))["parent"] == run_id

    anyio.run(scenario)
