"""`planexe-pipeline mcp` end to end, through the SDK's own client, on the offline simulator:

- a fast plan made, waited for without polling, and read (tool, pages, resource);
- a full plan stopped midway and resumed comes out as an uninterrupted one;
- a server killed while a plan runs leaves it running; the plan it queued starts when the first
  ends, with no server at all; a new server reports both;
- every bad input is one line of refusal and writes nothing;
- the same over streamable HTTP.
"""

from __future__ import annotations

import json
import os
import time
import signal
from pathlib import Path

import anyio
import pytest
from support.files import DONE
from support.mcp_client import connect_http, connect_stdio, free_port, server_pids, start_http_server
from support.plan_runs import START_DATE, differing, plan_files, poll, run_to_end, write_llm_config

pytestmark = pytest.mark.timeout(120)

MODELS = {
    "instant": {"seed": 42, "time_scale": 0},
    # ~30-135 ms a call: a full plan takes a few seconds, long enough to be stopped midway.
    "paced": {"seed": 42, "time_scale": 0.01},  # a full plan of about 4 s: long enough to stop midway
    "broken": {"seed": 42, "time_scale": 0, "fail_stages": ["SWOTAnalysis"]},
}
TOOLS = {"plan_create", "plan_status", "plan_wait", "plan_stop", "plan_resume", "plan_list", "plan_file",
         "plan_summary", "example_prompts", "models", "plan_fork", "plan_diff",
         "plan_edit", "plan_redo"}
PAGE_BYTES = 32768  # [mcp] page_bytes: a default page of plan_file, the whole answer as a client reads it
SAMPLE = "solar-farm-denmark"


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    return write_llm_config(tmp_path_factory.mktemp("config") / "llm_config.json", MODELS)


def plan(model: str, speed: str = "fast", **extra) -> dict:
    return {"sample_id": SAMPLE, "models": [model], "speed": speed, "workers": 4, "start_date": START_DATE, **extra}


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.mark.slow
def test_a_fast_plan_is_made_waited_for_and_read(tmp_path, config):
    root = tmp_path / "root"

    async def scenario():
        async with connect_stdio(root, config) as client:
            assert {t.name for t in (await client.session.list_tools()).tools} == TOOLS
            assert SAMPLE in {p["id"] for p in (await client.call("example_prompts"))["prompts"]}
            assert {m["name"] for m in (await client.call("models"))["models"]} == set(MODELS)

            created = await client.call("plan_create", **plan("instant"))
            run_id = created["run_id"]
            assert created["state"] in ("starting", "running") and (root / run_id).parent == root
            # Every change, but no more often than once a second: the calls are bounded by the time.
            waits, status, began = 0, created, time.monotonic()
            while status["state"] not in ("done", "failed", "stopped"):
                status = await client.call("plan_wait", run_id=run_id, timeout_s=30, since=status["change"],
                                           min_interval_s=1)
                assert status["changed"], status  # a wait returns on a change, not on its timeout
                assert status["waited_s"] >= 1 or status["state"] == "done", status
                waits += 1
            assert waits <= time.monotonic() - began + 1, f"{waits} waits at least a second apart"
            assert status["state"] == "done" and status["progress"] == 1.0 and status["exit_code"] == 0, status
            assert (root / run_id / "timeline.html").is_file(), "done before the run wrote its last file"
            assert "plan_file" in status["hint"]

            report = await client.call("plan_file", run_id=run_id, name="report", max_bytes=1 << 20)
            assert report["name"] == "070-report.html" and report["next_offset"] is None
            assert report["content"].rstrip().endswith("</html>")
            first = await client.call("plan_file", run_id=run_id, name="report")  # a default page: 32 KB
            assert first["next_offset"] is not None and report["content"].startswith(first["content"])
            pages, offset = [], 0
            while offset is not None:
                page = await client.call("plan_file", run_id=run_id, name="plan", offset=offset, max_bytes=4096)
                pages.append(page["content"])
                offset = page["next_offset"]
            on_disk = (root / run_id / "070-plan.md").read_text(encoding="utf-8")
            assert "".join(pages) == on_disk and len(pages) > 2
            resource = await client.session.read_resource(f"planexe://runs/{run_id}/plan")
            assert resource.contents[0].text == on_disk
            listing = await client.call("plan_file", run_id=run_id, name=".")
            assert {"name": "070-plan.md", "bytes": len(on_disk.encode())} in listing["files"]
            project = await client.call("plan_file", run_id=run_id, name="mspdi", max_bytes=4096)
            assert project["name"] == "071-schedule.xml" and "<Project" in project["content"]
            runs = (await client.call("plan_list"))["runs"]
            assert [(r["run_id"], r["state"]) for r in runs] == [(run_id, "done")]
            return waits

    waits = anyio.run(scenario)
    print(f"done after {waits} plan_wait calls")


@pytest.mark.slow
def test_an_agent_waits_for_a_full_plan_in_a_few_calls_and_reads_it_in_small_pieces(tmp_path, config):
    root = tmp_path / "root"

    async def scenario():
        async with connect_stdio(root, config) as client:
            status = await client.call("plan_create", **plan("paced", "full"))
            run_id, waits = status["run_id"], 0
            while status["state"] not in ("done", "failed", "stopped"):
                status = await client.call("plan_wait", run_id=run_id, since=status["change"], until="done")
                waits += 1
            assert status["state"] == "done" and status["reached"] and status["tasks"]["done"] > 100, status

            on_disk = (root / run_id / "070-plan.md").read_bytes()
            pages, offset = [], 0
            while offset is not None:
                result = await client.session.call_tool("plan_file", {"run_id": run_id, "name": "plan", "offset": offset})
                pages.append(result.structured_content)
                assert len(result.content[0].text.encode()) <= PAGE_BYTES, (len(pages), len(result.content[0].text))
                offset = pages[-1]["next_offset"]
                assert offset is None or str(offset) in pages[-1]["hint"], pages[-1]["hint"]
            assert "".join(page["content"] for page in pages).encode() == on_disk and len(pages) >= 3

            result = await client.session.call_tool("plan_summary", {"run_id": run_id})
            summary = result.structured_content
            return waits, len(on_disk), len(pages), summary, len(result.content[0].text.encode())

    waits, plan_bytes, pages, summary, summary_bytes = anyio.run(scenario)
    print(f"done after {waits} plan_wait calls; plan.md {plan_bytes} bytes in {pages} pages; summary {summary_bytes} bytes")
    assert waits <= 10
    assert summary_bytes < 2048 and len(json.dumps(summary)) < 2048, summary
    assert summary["title"].startswith("Project plan: ") and summary["goal"] and summary["duration"]["months"] >= 1
    assert summary["budget"]["total"] > 0 and summary["models"] == ["paced"]
    assert any(flag.startswith("simulated:") for flag in summary["flags"]), summary["flags"]
    # Each section's offset is where plan_file reads it from: its heading.
    on_disk = (root / summary["run_id"] / "070-plan.md").read_bytes()
    assert len(summary["sections"]) > 15
    for title, offset in summary["sections"].items():
        assert on_disk[offset:].startswith(f"## {title}\n".encode()), title


@pytest.mark.slow
def test_a_full_plan_stopped_midway_and_resumed_comes_out_as_an_uninterrupted_one(tmp_path, config):
    root = tmp_path / "root"

    async def scenario():
        async with connect_stdio(root, config) as client:
            reference = (await client.call("plan_create", **plan("instant", "full")))["run_id"]
            run_id = (await client.call("plan_create", **plan("paced", "full")))["run_id"]
            midway = await client.wait_until(run_id, lambda s: (s["tasks"] or {}).get("done", 0) >= 30)
            assert midway["state"] == "running", midway
            stopped = await client.call("plan_stop", run_id=run_id)
            assert stopped["state"] == "stopped" and stopped["exit_code"] == 130, stopped
            assert "plan_resume" in stopped["hint"]
            assert not (root / run_id / DONE).exists(), "stopped after the plan was complete: nothing was tested"
            done_at_stop = stopped["tasks"]["done"]
            assert "is not running (it is stopped)" in await client.refusal("plan_stop", run_id=run_id)

            resumed = await client.call("plan_resume", run_id=run_id)
            assert resumed["state"] in ("starting", "running"), resumed
            assert (await client.wait_for_end(run_id))["state"] == "done"
            assert (await client.wait_for_end(reference))["state"] == "done"
            return reference, run_id, done_at_stop

    reference, run_id, done_at_stop = anyio.run(scenario)
    # The stop was Ctrl-C to the run, which said so in its one line (its log), not a kill.
    assert "planexe-pipeline: interrupted; rerun the same command to resume" in \
        (root / ".mcp" / "logs" / f"{run_id}.log").read_text()
    difference = differing(plan_files(root / reference), plan_files(root / run_id))
    assert not difference, f"stopped at {done_at_stop} tasks and resumed: {difference}"


@pytest.mark.slow
def test_a_failed_plan_says_why_and_what_to_do_and_resumes_on_another_model(tmp_path, config):
    root = tmp_path / "root"
    # A plan run from the command line in the root, before any server: listed, and resumed, too.
    assert run_to_end(root / "by-hand", config, ["broken"]).proc.returncode == 1

    async def scenario():
        async with connect_stdio(root, config) as client:
            by_hand = await client.call("plan_status", run_id="by-hand")
            assert by_hand["state"] == "failed" and by_hand["failure"]["step"] == "SWOTAnalysis", by_hand
            assert "by-hand" in {r["run_id"] for r in (await client.call("plan_list"))["runs"]}
            await client.call("plan_resume", run_id="by-hand", models=["instant"], workers=4)
            run_id = (await client.call("plan_create", **plan("broken")))["run_id"]
            failed = await client.wait_for_end(run_id)
            assert failed["state"] == "failed" and failed["exit_code"] == 1, failed
            failure = failed["failure"]
            assert failure["step"] == "SWOTAnalysis" and "every model failed" in failure["reason"], failure
            assert failure["recoverable"] and "plan_resume" in failed["hint"] and "other models" in failed["hint"]
            assert any(line.startswith("error: SWOTAnalysis") for line in failed["log_tail"]), failed["log_tail"]
            resumed = await client.call("plan_resume", run_id=run_id, models=["instant"])
            assert resumed["state"] in ("starting", "running"), resumed
            assert (await client.wait_for_end(run_id))["state"] == "done"
            assert "is complete" in await client.refusal("plan_resume", run_id=run_id)
            assert (await client.wait_for_end("by-hand"))["state"] == "done"

    anyio.run(scenario)


@pytest.mark.slow
def test_a_killed_server_leaves_its_plans_running_and_the_queue_moving(tmp_path, config):
    root = tmp_path / "root"

    async def first_server():
        async with connect_stdio(root, config, "--max-running", "1") as client:
            running = await client.call("plan_create", **plan("paced"))
            queued = await client.call("plan_create", **plan("instant"))
            assert queued["state"] == "queued" and queued["queue_position"] == 1, queued
            await client.wait_until(running["run_id"], lambda s: s["state"] == "running")
            [server] = server_pids(root)
            os.kill(server, signal.SIGKILL)
            poll(lambda: not server_pids(root), 10, "the end of the killed server")
            return running["run_id"], queued["run_id"], time.time()

    first, second, killed_at = anyio.run(first_server)
    # No server now: the first plan runs on, and its job process starts the queued one when it ends.
    poll(lambda: (root / second / DONE).exists(), 60, "the queued plan, done with no server running", every=0.2)
    assert (root / first / DONE).exists() and not server_pids(root)
    jobs = {run_id: json.loads((root / ".mcp" / "jobs" / f"{run_id}.json").read_text()) for run_id in (first, second)}
    # The queued plan started after the kill, once the first had ended: its job process started it.
    assert killed_at < jobs[first]["ended"] <= jobs[second]["launched"], jobs

    async def second_server():
        async with connect_stdio(root, config) as client:
            states = {r["run_id"]: r["state"] for r in (await client.call("plan_list"))["runs"]}
            assert states == {first: "done", second: "done"}, states
            status = await client.call("plan_status", run_id=first)
            assert status["state"] == "done" and status["exit_code"] == 0 and status["progress"] == 1.0, status

    anyio.run(second_server)


def test_bad_input_is_refused_in_one_line_and_nothing_is_written(tmp_path, config):
    root = tmp_path / "root"
    handmade = root / "handmade"
    (handmade / "telemetry").mkdir(parents=True)
    (handmade / "001-plan.txt").write_text("A plan made by hand.\n")
    (tmp_path / "secret.txt").write_text("outside the root")
    (handmade / "escape.txt").symlink_to(tmp_path / "secret.txt")

    async def scenario():
        async with connect_stdio(root, config) as client:
            before = tree(root)
            refusals = {
                "run id with ..": await client.refusal("plan_status", run_id="../root"),
                "run id ..": await client.refusal("plan_file", run_id="..", name="plan"),
                "absolute run id": await client.refusal("plan_status", run_id=str(tmp_path)),
                "absolute file": await client.refusal("plan_file", run_id="handmade", name="/etc/passwd"),
                "file with ..": await client.refusal("plan_file", run_id="handmade", name="../../secret.txt"),
                "file through a link": await client.refusal("plan_file", run_id="handmade", name="escape.txt"),
                "missing file": await client.refusal("plan_file", run_id="handmade", name="023-project_plan.json"),
                "unknown run": await client.refusal("plan_status", run_id="no-such-run"),
                "unknown sample": await client.refusal("plan_create", sample_id="no-such-sample"),
                "empty prompt": await client.refusal("plan_create", prompt=""),
                "blank prompt": await client.refusal("plan_create", prompt="  \n "),
                "long prompt": await client.refusal("plan_create", prompt="word " * 2000),
                "prompt and sample": await client.refusal("plan_create", prompt="A bakery.", sample_id=SAMPLE),
                "unknown model": await client.refusal("plan_create", prompt="A bakery.", models=["no-such-model"]),
                "bad speed": await client.refusal("plan_create", prompt="A bakery.", speed="turbo"),
                "no workers": await client.refusal("plan_create", prompt="A bakery.", models=["instant"], workers=0),
                "bad date": await client.refusal("plan_create", prompt="A bakery.", models=["instant"],
                                                 start_date="next week"),
                "workers not a number": await client.refusal("plan_create", prompt="A bakery.", workers="many"),
                "wait too long": await client.refusal("plan_wait", run_id="handmade", timeout_s=1e9),
                "bad page": await client.refusal("plan_file", run_id="handmade", name="001-plan.txt", max_bytes=1),
                "wait for nothing": await client.refusal("plan_wait", run_id="handmade", until="forever"),
                "negative interval": await client.refusal("plan_wait", run_id="handmade", min_interval_s=-1),
                "summary of no run": await client.refusal("plan_summary", run_id="no-such-run"),
            }
            assert tree(root) == before, "a refused call wrote something"
            return refusals

    refusals = anyio.run(scenario)
    for case, text in refusals.items():
        assert "\n" not in text and "Traceback" not in text, f"{case}: {text!r}"
        print(f"{case}: {text}")
    assert "not a run id" in refusals["run id with .."] and "not a run id" in refusals["absolute run id"]
    assert "absolute path" in refusals["absolute file"] and "leaves the run folder" in refusals["file with .."]
    assert "leaves the run folder" in refusals["file through a link"]
    assert "has no file" in refusals["missing file"] and "unknown sample id" in refusals["unknown sample"]
    assert "empty" in refusals["empty prompt"] and "empty" in refusals["blank prompt"]
    assert "over the limit" in refusals["long prompt"] and "unknown model 'no-such-model'" in refusals["unknown model"]
    assert "until must be one of change, end" in refusals["wait for nothing"]
    assert "min_interval_s must be from 0" in refusals["negative interval"]
    assert sorted(p.name for p in root.iterdir()) == [".mcp", "handmade"]
    assert not list((root / ".mcp" / "jobs").iterdir())


def test_models_says_whether_a_local_server_answered_and_does_not_call_a_hosted_one(tmp_path, fake_openai_server):
    dead = f"http://127.0.0.1:{free_port()}"
    local = {"model": "m", "api_key": "not-needed", "context_window": 8192}
    config = tmp_path / "llm_config.json"
    config.write_text(json.dumps({"models": {
        "sim": {"class": "Simulated", "arguments": {"time_scale": 0}},
        "up": {"class": "OpenAILike", "arguments": {**local, "api_base": fake_openai_server.url + "/v1"}},
        "down": {"class": "OpenAILike", "arguments": {**local, "api_base": dead + "/v1"}},
        "ollama-down": {"class": "Ollama", "arguments": {"model": "m", "base_url": dead}},
        "hosted": {"class": "OpenAILike", "arguments": {**local, "api_base": "https://api.example.invalid/v1"}},
    }}))

    async def scenario():
        async with connect_stdio(tmp_path / "root", config) as client:
            return {m["name"]: m for m in (await client.call("models"))["models"]}

    models = anyio.run(scenario)
    checks = {name: (m["endpoint_check"], m["ready"]) for name, m in models.items()}
    assert checks == {"sim": (None, True), "up": ("answered", True), "down": ("no answer", False),
                      "ollama-down": ("no answer", False), "hosted": ("not checked", True)}, checks
    assert dead in models["down"]["why_not_ready"] and "start it" in models["down"]["why_not_ready"]
    assert f"{dead}/api/tags" in models["ollama-down"]["why_not_ready"]
    # The server that is up was asked for its model list, never sent a model call.
    assert fake_openai_server.chat_requests() == []


@pytest.mark.slow
def test_the_same_over_streamable_http(tmp_path, config):
    root, port = tmp_path / "root", free_port()
    server = start_http_server(root, config, port, tmp_path / "server.log")
    try:
        async def scenario():
            async with connect_http(f"http://127.0.0.1:{port}/mcp") as client:
                assert {t.name for t in (await client.session.list_tools()).tools} == TOOLS
                run_id = (await client.call("plan_create", **plan("instant")))["run_id"]
                assert (await client.wait_for_end(run_id))["state"] == "done"
                page = await client.call("plan_file", run_id=run_id, name="plan", max_bytes=1 << 20)
                assert page["content"] == (root / run_id / "070-plan.md").read_text(encoding="utf-8")
                summary = await client.call("plan_summary", run_id=run_id)
                assert summary["state"] == "done" and "Schedule" in summary["sections"], summary
                assert "not a run id" in await client.refusal("plan_status", run_id="../x")

        anyio.run(scenario)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
