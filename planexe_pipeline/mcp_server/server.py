"""planexe-pipeline mcp: plans as tools for agents, over the Model Context Protocol (the `mcp` SDK).

Each tool is a thin layer over what the command line does: a plan is `planexe-pipeline run` in a
job process of its own (run_queue.py), its status is `planexe-pipeline status --json`'s
(views.py), and everything a client sends is checked first (safety.py). A refusal is an MCP tool
error of one line; nothing is written for it.
"""

from __future__ import annotations

import datetime
import functools
import inspect
import json
import os
import re
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from pydantic import Field

from planexe_pipeline import __version__
from planexe_pipeline.defaults import WORKERS
from planexe_pipeline.errors import InputError, PipelineError
from planexe_pipeline.llm.config import load_llm_config
from planexe_pipeline.mcp_server.revising import add_revision_tools
from planexe_pipeline.mcp_server.run_queue import Job, Root, dispatch, stop, submit, wait_for_end
from planexe_pipeline.mcp_server.safety import (check_budget, check_models, check_plan_request, check_workers,
                                                run_folder)
from planexe_pipeline.mcp_server.views import RunViews, sample_prompts
from planexe_pipeline.mcp_server.waiting import WaitFor
from planexe_pipeline.prompt_input import FINGERPRINT_FILE, PLAN_FILE
from planexe_pipeline.settings import mcp
from planexe_pipeline.variants.diff import diff_plans
from planexe_pipeline.variants.diff_html import render_diff_html
from planexe_pipeline.variants.fork import fork_plan

DISPATCH_EVERY_S = 2.0
WAIT_POLL_S = 0.25
STOP_WAIT_S = 30.0
DIFF_NAMES_KEPT = 25  # of each list in plan_diff's answer, which stays within a page (page_bytes)

INSTRUCTIONS = """Makes project plans from a one-paragraph idea (about 100 LLM calls each).
plan_create returns a run_id at once; the plan runs in the background and survives this server.
plan_wait with until 'end' blocks until it is done, failed or stopped (call it again after a
timeout). Then plan_summary for its outline, and plan_file with name 'plan' (markdown, page by
page) or 'report' (HTML); 'mspdi' (MS Project XML), 'ics' (iCalendar), 'pdf' and 'docx' (Word,
both in base64) are its exports. A stopped or failed plan continues with plan_resume;
status.failure says why it failed."""

RunId = Annotated[str, Field(description="A run id that plan_create or plan_list returned.")]


def refusals(fn):
    """Our one-line errors become MCP tool errors with that line (never a traceback)."""
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def checked_async(*args, **kwargs):
            try:
                return await fn(*args, **kwargs)
            except PipelineError as exc:
                raise ToolError(str(exc)) from None
        return checked_async

    @functools.wraps(fn)
    def checked(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PipelineError as exc:
            raise ToolError(str(exc)) from None
    return checked


def one_line(text: str) -> str:
    """An error on one line. The SDK's own refusals of arguments of the wrong type are pydantic's
    report: several lines, a link and the value sent; this keeps what was wrong with which field."""
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.strip().startswith("For further information")]
    return "; ".join(re.sub(r"\s*\[type=[^\]]*\]", "", line) for line in lines)


async def one_line_errors(ctx, call_next):
    """Middleware: every tool error a client receives is one line."""
    result = await call_next(ctx)
    if ctx.method == "tools/call" and isinstance(result, dict) and result.get("isError"):
        for block in result.get("content") or []:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                block["text"] = one_line(block["text"])
    return result


def new_run_id(root: Root) -> str:
    while True:
        run_id = f"{datetime.datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        if not root.run_dir(run_id).exists() and root.load(run_id) is None:
            return run_id


def job_for_folder(root: Root, run_id: str, llm_config: str | None) -> tuple[Job, str]:
    """A job for a run folder made without this server (by `planexe-pipeline run`), and its prompt."""
    run_dir = root.run_dir(run_id)
    try:
        prompt = (run_dir / PLAN_FILE).read_text(encoding="utf-8")
        speed = json.loads((run_dir / FINGERPRINT_FILE).read_text(encoding="utf-8"))["speed"]
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f"run {run_id} has no readable {PLAN_FILE} and {FINGERPRINT_FILE}: it cannot be resumed") from None
    # No models: plan_resume names them, or the server's default list applies.
    return Job(run_id=run_id, models=[], speed=speed, workers=WORKERS, llm_config=llm_config,
               cwd=os.getcwd()), prompt


def build_server(root: Root, llm_config: str | None) -> MCPServer:
    views = RunViews(root, llm_config)
    server = MCPServer("planexe-pipeline", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING",
                       middleware=[one_line_errors])

    @server.tool()
    @refusals
    def plan_create(
        prompt: Annotated[str | None, Field(description="The idea, one paragraph. Or pass sample_id.")] = None,
        sample_id: Annotated[str | None, Field(description="A sample prompt's id from example_prompts.")] = None,
        models: Annotated[list[str] | None, Field(description="Model names from the models tool, tried in "
                                                              "order; default: the server's default models.")] = None,
        speed: Annotated[str, Field(description="'full', or 'fast': every fan-out capped at 2 items.")] = "full",
        workers: Annotated[int, Field(description="Worker processes (LLM calls at once are capped apart).")] = WORKERS,
        start_date: Annotated[str | None, Field(description="First day of the schedule, YYYY-MM-DD; default today.")] = None,
        budget_usd: Annotated[float | None, Field(description="The most the plan may cost in USD: no LLM call starts "
                                                              "that could pass it (every model must be priced); the "
                                                              "plan then fails, and plan_resume with a higher "
                                                              "budget_usd finishes it.")] = None,
    ) -> dict[str, Any]:
        """Start a plan. Returns at once with its run_id and status (state 'starting', or 'queued' with
        queue_position when max_running plans already run); the plan runs in the background."""
        request = check_plan_request(prompt=prompt, sample_id=sample_id, models=models, speed=speed, workers=workers,
                                     start_date=start_date, llm_config=llm_config, budget_usd=budget_usd)
        run_id = new_run_id(root)
        submit(root, Job(run_id=run_id, models=request.models, speed=request.speed, workers=request.workers,
                         start_date=request.start_date, llm_config=llm_config, budget_usd=request.budget_usd,
                         cwd=os.getcwd()), request.prompt)
        return views.status(run_id)

    @server.tool()
    @refusals
    def plan_status(run_id: RunId) -> dict[str, Any]:
        """Where a plan stands: `planexe-pipeline status --json` (state, progress 0-1, tasks, llm_calls,
        eta_s, in_flight, last_progress_at, failure {step, reason, recoverable, resume}) plus run_id,
        queue_position, hint (what to call next), log_tail on failures, and change (a token for plan_wait).
        States: queued, starting, running, stalled, done, failed, stopped."""
        return views.status(run_id)

    @server.tool()
    @refusals
    async def plan_wait(
        run_id: RunId,
        timeout_s: Annotated[float, Field(description="Longest wait in seconds (at most the server's max_wait_s).")] = 60.0,
        since: Annotated[str | None, Field(description="The change token of a status seen before: returns at "
                                                       "once if the plan moved since. Default: now.")] = None,
        until: Annotated[str, Field(description="What to wait for: 'change' (any change of state or progress), "
                                                "'end' (done, failed or stopped), or a state: 'running', 'done', "
                                                "'failed', 'stopped'. Waiting for the end costs the fewest calls.")] = "change",
        min_interval_s: Annotated[float, Field(description="With until 'change': return no sooner than this many "
                                                           "seconds after the call; the changes meanwhile come "
                                                           "as one answer.")] = 0.0,
        ctx: Context = None,
    ) -> dict[str, Any]:
        """Block until the plan's state or progress changes (a task or an LLM call finishes, it starts,
        ends or stalls), or until what `until` names, or until timeout_s. Returns plan_status's answer
        plus changed (it moved since `since`), reached (what `until` asked for happened) and waited_s.
        Returns at once for a plan that is done, failed or stopped. To wait for a plan to finish in a
        few calls: until 'end' (or 'done') with a long timeout_s."""
        wait = WaitFor(until, min_interval_s, timeout_s, mcp().max_wait_s)
        began = anyio.current_time()
        current = await anyio.to_thread.run_sync(views.status, run_id)
        token = since or current["change"]
        reported = -1.0
        while not wait.over(current, token, anyio.current_time() - began):
            await anyio.sleep(max(0.0, min(WAIT_POLL_S, began + timeout_s - anyio.current_time())))
            current = await anyio.to_thread.run_sync(views.status, run_id)
            if ctx is not None and current["progress"] > reported:
                reported = current["progress"]
                await ctx.report_progress(reported, 1.0, f"{current['state']}: {reported:.0%}")
        return {**current, "changed": current["change"] != token, "reached": wait.reached(current, token),
                "waited_s": round(anyio.current_time() - began, 2)}

    @server.tool()
    @refusals
    def plan_stop(run_id: RunId) -> dict[str, Any]:
        """Stop a plan cleanly (Ctrl-C to its run): finished steps are kept and plan_resume continues it.
        A queued plan leaves the queue. Returns its status once it stopped (state 'stopped')."""
        state = views.status(run_id)["state"]
        outcome = stop(root, run_id)
        if outcome == "idle":
            if state in ("running", "stalled"):
                raise InputError(f"run {run_id} is running, but not from this server's queue: stop it where it was started")
            raise InputError(f"run {run_id} is not running (it is {state}): nothing to stop")
        if outcome == "signalled" and not wait_for_end(root, run_id, STOP_WAIT_S):
            return {**views.status(run_id), "hint": "the stop was sent and the plan is still stopping: plan_wait for it"}
        return views.status(run_id)

    @server.tool()
    @refusals
    def plan_resume(
        run_id: RunId,
        models: Annotated[list[str] | None, Field(description="Other models to use from now on (after a "
                                                              "provider failed); default: the plan's own.")] = None,
        workers: Annotated[int | None, Field(description="Worker processes; default: the plan's own.")] = None,
        budget_usd: Annotated[float | None, Field(description="A new budget in USD for the whole plan (what it "
                                                              "spent counts); default: the plan's own.")] = None,
    ) -> dict[str, Any]:
        """Continue a stopped or failed plan where it ended: finished steps are kept, so the plan comes out
        as an uninterrupted one would; or a finished plan that was revised (plan_edit), which redoes what
        depends on the edit. It queues like a new plan. Returns its status."""
        return resume(run_id, models, workers, budget_usd)

    def resume(run_id: str, models: list[str] | None = None, workers: int | None = None,
               budget_usd: float | None = None) -> dict[str, Any]:
        status = views.status(run_id)
        state = status["state"]
        if state == "done" and not (status.get("revision") or {}).get("redo_tasks"):
            raise InputError(f"run {run_id} is complete: nothing to resume (read it with plan_file)")
        if state not in ("done", "failed", "stopped"):
            raise InputError(f"run {run_id} is {state}: only a stopped, failed or revised plan can be resumed")
        job, prompt = root.load(run_id), None
        if job is None:
            job, prompt = job_for_folder(root, run_id, llm_config)
        job.models = check_models(models or job.models or None, llm_config)
        if workers is not None:
            job.workers = check_workers(workers)
        if budget_usd is not None:
            job.budget_usd = check_budget(budget_usd)
        submit(root, job, prompt)
        return views.status(run_id)

    add_revision_tools(server, root, views, llm_config, refusals=refusals, resume=resume)

    @server.tool()
    @refusals
    def plan_list(limit: Annotated[int, Field(description="At most this many, newest first.")] = 20) -> dict[str, Any]:
        """The plans under the server's root folder, newest first: run_id, state, tasks_done,
        queue_position, title (the prompt's start), speed."""
        if isinstance(limit, bool) or not 1 <= limit <= 1000:
            raise InputError(f"limit must be from 1 to 1000, got {limit}")
        return {"runs": views.list_runs(limit)}

    @server.tool()
    @refusals
    def plan_file(
        run_id: RunId,
        name: Annotated[str, Field(description="'report' (HTML), 'plan' (markdown), an export: 'mspdi' (MS Project "
                                               "XML), 'ics' (iCalendar), 'pdf', 'docx' (Word); a file of the run folder "
                                               "such as '023-project_plan.json', or a folder ('.') to list it.")],
        offset: Annotated[int, Field(description="Byte offset to read from: 0, or a next_offset returned.")] = 0,
        max_bytes: Annotated[int | None, Field(description="Page size in bytes; default and most: the server's "
                                                           "max_file_bytes.")] = None,
    ) -> dict[str, Any]:
        """One file of a plan, as text: name, bytes (its size), offset, content, next_offset (null at
        the end: a longer file comes page by page) and mime_type; a PDF or Word file's content is
        base64 (encoding: base64). A folder gives its files and folders."""
        return views.read_file(run_id, name, offset, max_bytes)

    @server.tool()
    @refusals
    def plan_summary(run_id: RunId) -> dict[str, Any]:
        """A plan in under 2 KB: title, goal, duration (months, first and last day), budget (total,
        currency, contingency), the models that wrote it, its sections with the byte offset in the
        plan's markdown where each begins (plan_file reads from there), and flags a reader must know
        (simulated text, an incomplete plan, answers flagged as degenerate)."""
        return views.summary(run_id)

    @server.tool()
    @refusals
    def plan_fork(run_id: RunId) -> dict[str, Any]:
        """A new plan sharing every finished step of run_id, which it records as its parent: revise the
        fork and resume it, then plan_diff it with its parent (which stays as it was). Returns the
        fork's status (its own run_id) and parent. Refused for a plan that is running."""
        fork_id = new_run_id(root)
        fork_plan(run_folder(root.path, run_id), root.run_dir(fork_id))
        return {**views.status(fork_id), "parent": run_id}

    @server.tool()
    @refusals
    def plan_diff(
        run_id_a: Annotated[str, Field(description="A finished plan: the earlier one, or the parent.")],
        run_id_b: Annotated[str, Field(description="Another finished plan: the later one, or the fork.")],
        section: Annotated[str | None, Field(description="A section's key: its line diff instead.")] = None,
        html: Annotated[bool, Field(description="The diff as one self-contained HTML page instead.")] = False,
    ) -> dict[str, Any]:
        """What plan B does differently from plan A: relation, figures (scenario, duration, budget, counts:
        a, b, delta), every section's status and lines added and removed, items added, removed and changed
        per list (risks, documents, WBS tasks, team members, ...; at most 25 names each), files changed.
        With section: that section's line diff. With html: the page (html, bytes)."""
        diff = diff_plans(run_folder(root.path, run_id_a), run_folder(root.path, run_id_b),
                          a_label=run_id_a, b_label=run_id_b)
        if html:
            page = render_diff_html(diff)
            if len(page.encode()) > mcp().max_file_bytes:
                raise InputError(f"the page has {len(page.encode())} bytes, over the limit of {mcp().max_file_bytes}: "
                                 "read the diff without html, a section at a time")
            return {"html": page, "bytes": len(page.encode())}
        if section is not None:
            return diff.section(section)
        return {**diff.to_dict(line_diffs=False, names_kept=DIFF_NAMES_KEPT),
                "hint": "plan_diff with section (a key of sections) gives that section's line diff"}

    @server.tool()
    def example_prompts() -> dict[str, Any]:
        """Sample ideas to plan: id (for plan_create's sample_id), title, tags and the prompt text."""
        return {"prompts": sample_prompts()}

    @server.tool()
    @refusals
    def models() -> dict[str, Any]:
        """The models a plan may use: name, class, structured_output mode, context_window,
        max_output_tokens, model, endpoint (without credentials), endpoint_check ('answered' or
        'no answer': a server on this machine or network was asked for its model list, 1 s at most;
        'not checked': a hosted one), ready (and why_not_ready: an unset key variable, a local server
        that did not answer), comment; and the default list."""
        return views.models()

    def resource(name: str):
        def read(run_id: str) -> str:
            try:
                return views.whole_file(run_id, name)
            except PipelineError as exc:
                raise ResourceError(str(exc)) from None
        return read

    server.resource("planexe://runs/{run_id}/report", name="report", mime_type="text/html",
                    description="A finished plan's report, one self-contained HTML page.")(resource("report"))
    server.resource("planexe://runs/{run_id}/plan", name="plan", mime_type="text/markdown",
                    description="A finished plan as markdown.")(resource("plan"))
    return server


def _dispatch_forever(root: Root) -> None:
    """Covers what no job process does: a plan whose job process was killed frees its slot here."""
    while True:
        time.sleep(DISPATCH_EVERY_S)
        try:
            dispatch(root)
        except OSError:
            pass  # the root is unreadable for a moment (a full disk): try again next time


def _check_port_free(port: int) -> None:
    """Said before anything is written: uvicorn would say it only once the root was prepared."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise InputError(f"port {port} on 127.0.0.1 cannot be used ({exc.strerror or exc}): pass another --port") from None


def serve(root_dir: str, *, http: bool, port: int, max_running: int | None, llm_config: str | None) -> None:
    if http:
        _check_port_free(port)
    root = Root(root_dir)
    try:
        root.prepare()
    except OSError as exc:
        raise InputError(f"root folder {root.path} cannot be used ({exc.strerror or exc}): pick another --root") from None
    if llm_config:
        llm_config = str(Path(llm_config).resolve())
    load_llm_config(llm_config)  # a broken config stops the server at once, not each plan later
    root.set_max_running(max_running or mcp().max_running)
    dispatch(root)  # plans queued while no server ran, and slots freed by plans that ended meanwhile
    threading.Thread(target=_dispatch_forever, args=(root,), name="plan-dispatch", daemon=True).start()
    server = build_server(root, llm_config)
    if http:
        server.run("streamable-http", host="127.0.0.1", port=port)
    else:
        server.run()
