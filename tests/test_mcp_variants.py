"""plan_fork and plan_diff through the SDK's own client: an agent forks a finished plan, the fork is a
plan of the root like any other, and plan_diff says what a change in it changed; bad ids are refused
in one line and write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from support.files import DONE, plan_file
from support.mcp_client import connect_stdio
from support.plan_runs import START_DATE, write_llm_config

pytestmark = pytest.mark.timeout(120)

PITCH = plan_file("Pitch", "md")
PAGE_BYTES = 32768  # [mcp] page_bytes: what an answer should stay within


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.mark.slow
def test_an_agent_forks_a_plan_and_diffs_the_fork_with_its_parent(tmp_path):
    config = write_llm_config(tmp_path / "llm_config.json", {"instant": {"seed": 42, "time_scale": 0}})
    root = tmp_path / "root"

    async def scenario():
        async with connect_stdio(root, config) as client:
            assert {"plan_fork", "plan_diff"} <= {t.name for t in (await client.session.list_tools()).tools}
            parent, unrelated = [(await client.call("plan_create", sample_id=sample, models=["instant"], speed="fast",
                                                    workers=4, start_date=START_DATE))["run_id"]
                                 for sample in ("bakery-lyon", "solar-farm-denmark")]
            for run_id in (parent, unrelated):
                assert (await client.wait_for_end(run_id))["state"] == "done"
            for path in (root / parent).rglob("*"):  # run by the server's job, with its absolute paths
                assert not path.is_file() or str(tmp_path).encode() not in path.read_bytes(), path

            fork = await client.call("plan_fork", run_id=parent)
            assert fork["parent"] == parent and fork["run_id"] != parent and fork["state"] == "done", fork
            child = fork["run_id"]
            assert json.loads((root / child / "lineage.json").read_text())["parent"] == f"../{parent}"
            assert {r["run_id"]: r["state"] for r in (await client.call("plan_list"))["runs"]} == \
                {parent: "done", unrelated: "done", child: "done"}
            same = await client.call("plan_diff", run_id_a=parent, run_id_b=child)
            assert same["identical"] and same["relation"] == "B is a fork of A; the same prompt", same["relation"]
            page = await client.call("plan_diff", run_id_a=parent, run_id_b=child, html=True)
            assert page["html"].startswith("<!DOCTYPE html>") and "The two plans are the same" in page["html"]

            pitch = root / child / PITCH  # what an edit of the fork's pitch would leave
            pitch.write_text(pitch.read_text() + "\nA closing line <b>added</b> by hand.\n")
            changed = await client.call("plan_diff", run_id_a=parent, run_id_b=child)
            assert not changed["identical"] and changed["files_changed"] == [PITCH]
            assert [(s["key"], s["added"]) for s in changed["sections"] if s["status"] != "same"] == [("pitch", 2)]
            assert "section" in changed["hint"] and "diff" not in changed["sections"][0]
            pitch_section = await client.call("plan_diff", run_id_a=parent, run_id_b=child, section="pitch")
            assert "+A closing line <b>added</b> by hand." in pitch_section["diff"]
            other = await client.call("plan_diff", run_id_a=parent, run_id_b=unrelated)
            assert len(json.dumps(other, indent=2, ensure_ascii=False).encode()) <= PAGE_BYTES, "more than a page"
            assert other["relation"].endswith("different prompts")
            assert any(key.endswith("_not_shown") for item in other["items"] for key in item), "no list was cut"

            (root / child / DONE).unlink()
            before = tree(root)
            refusals = [await client.refusal("plan_diff", run_id_a=parent, run_id_b=parent, section="nope"),
                        await client.refusal("plan_fork", run_id="../root"),
                        await client.refusal("plan_fork", run_id="no-such-run"),
                        await client.refusal("plan_diff", run_id_a=parent, run_id_b=child),
                        await client.refusal("plan_diff", run_id_a=parent, run_id_b="/etc")]
            assert tree(root) == before, "a refused call wrote something"
            return refusals

    refusals = anyio.run(scenario)
    assert all("\n" not in text and "Traceback" not in text for text in refusals), refusals
    assert "is no section of both plans: pass one of" in refusals[0]
    assert "not a run id" in refusals[1] and "is not a folder" in refusals[2]
    assert "is not a finished plan" in refusals[3] and "not a run id" in refusals[4]
