"""What the MCP server says about runs: their status, their files, the models and sample prompts.

A run's status is `planexe-pipeline status --json`'s (status.py, read from the run folder), with
what only the server knows around it: a place in the queue, a plan launched but not started yet,
a run that was refused before it wrote any telemetry (its log says why), and a hint at the tool
to call next.
"""

from __future__ import annotations

import base64
import codecs
import json
import mimetypes
import threading
from pathlib import Path

from planexe_pipeline.errors import InputError, PipelineError
from planexe_pipeline.export.formats import FORMATS
from planexe_pipeline.llm.config import load_llm_config, parse_model_list, resolve_models
from planexe_pipeline.llm.endpoint_probe import NO_ANSWER, check_endpoints, listing_url
from planexe_pipeline.mcp_server.plan_summary import plan_summary
from planexe_pipeline.mcp_server.run_queue import Job, Root, process_alive, queue_position
from planexe_pipeline.mcp_server.safety import RUN_ID, file_in_run, public_address, run_folder, shown
from planexe_pipeline.mcp_server.revising import revision_facts
from planexe_pipeline.pipeline import PLAN
from planexe_pipeline.prompt_input import PLAN_FILE, read_fingerprint
from planexe_pipeline.prompts.catalog import load_catalog
from planexe_pipeline.settings import mcp, pipeline
from planexe_pipeline.status import StatusTracker
from planexe_pipeline.tasks.expected_work import walked_expectation
from planexe_pipeline.telemetry.alerts import notify
from planexe_pipeline.telemetry.event_log import TELEMETRY_DIR
from planexe_pipeline.tasks import revision
from planexe_pipeline.telemetry.run_state import read_run_state
from planexe_pipeline.variants.fork import parent_of, read_lineage

FINAL_STATES = ("done", "failed", "stopped")


def _revision(run_dir: Path) -> dict:
    """What a run of the folder would redo now (tasks/revision.py), or the edit it would refuse."""
    if read_fingerprint(run_dir) is None:
        return revision_facts(None)
    try:
        return revision_facts(revision.plan_revision(PLAN, str(run_dir)))
    except InputError as exc:
        return {**revision_facts(None), "refused_edit": str(exc)}
LOG_TAIL_LINES = 6
# Export files by suffix: their type, and whether plan_file serves them in base64 (PDF, Word).
EXPORT_TYPES = {f".{f.suffix}": f for f in FORMATS.values()}


def _hint(status: dict) -> str:
    state, run_id = status["state"], status["run_id"]
    if state == "queued":
        return (f"waiting for a free slot: number {status['queue_position']} in the queue, at most "
                f"{status['max_running']} running at once; plan_wait returns when it starts")
    if state in ("starting", "running"):
        return "plan_wait with until 'end' returns once it is done, failed or stopped; until 'change' at each step"
    if state == "stalled":
        return (f"nothing finished for {status['stall_after_s']:.0f} s: the provider may be slow or down; "
                "keep waiting, or plan_stop now and plan_resume later (or with other models)")
    if state == "done" and (status.get("revision") or {}).get("redo_tasks"):
        return (f"revised: plan_resume redoes {status['revision']['redo_tasks']} tasks that depend on what changed "
                f"({status['revision']['redo_llm_calls']} LLM calls)")
    if state == "done":
        return (f"read the plan: plan_summary for its outline, plan_file with name 'plan' (markdown) or 'report' "
                f"(HTML), page by page, or resource planexe://runs/{run_id}/plan")
    if state == "stopped":
        return "plan_resume continues it where it stopped; finished steps are kept"
    failure = status.get("failure") or {}
    if failure.get("recoverable"):
        return "plan_resume continues it where it failed (pass other models if the provider failed); finished steps are kept"
    return "a step failed in a way a rerun will not fix: see failure and log_tail"


def _log_tail(root: Root, run_id: str) -> list[str]:
    try:
        lines = root.log_path(run_id).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [line for line in lines if line.strip()][-LOG_TAIL_LINES:]


class RunViews:
    def __init__(self, root: Root, llm_config: str | None):
        self.root = root
        self.llm_config = llm_config
        self.stall_after_s = notify().stall_after_s
        self._trackers: dict[str, tuple[StatusTracker, threading.Lock]] = {}
        self._guard = threading.Lock()

    # -- status ------------------------------------------------------------------------------------

    def _snapshot(self, run_id: str, run_dir: Path) -> dict | None:
        """status --json of the folder; None when no run has started in it."""
        if not (run_dir / TELEMETRY_DIR).is_dir():
            return None
        with self._guard:
            tracker, lock = self._trackers.setdefault(
                run_id, (StatusTracker(run_dir, stall_after_s=self.stall_after_s, expect=walked_expectation),
                         threading.Lock()))
        with lock:
            try:
                return tracker.snapshot()
            except ValueError:  # telemetry without a run start line yet
                return None

    def status(self, run_id: str) -> dict:
        run_dir = run_folder(self.root.path, run_id)
        job = self.root.load(run_id)
        snapshot = self._snapshot(run_id, run_dir)
        if job is None and snapshot is None:
            raise InputError(f"no run '{run_id}' under the server's root folder: call plan_list for the runs")
        status = {"progress": 0.0, "tasks": None, "llm_calls": None, "eta_s": None, "failure": None,
                  **(snapshot or {}), "run_id": run_id, "trace_id": (snapshot or {}).get("run_id"),
                  "run_dir": str(run_dir), "queue_position": None, "max_running": self.root.max_running(),
                  "stall_after_s": self.stall_after_s}
        if job is not None:
            status.update(self._job_state(job, snapshot))
        status["parent"] = self._parent(run_dir)
        if status["state"] in FINAL_STATES:  # a plan at rest: what a person changed, what is stale
            status["revision"] = _revision(run_dir)
        if status["failure"]:  # a client resumes with a tool, not the command line
            status["failure"] = {**status["failure"], "resume": f"plan_resume with run_id {run_id}"}
        tasks, calls = status["tasks"] or {}, status["llm_calls"] or {}
        status["change"] = (f"{status['state']}:{tasks.get('done', 0)}:{calls.get('done', 0)}:"
                            f"{status['queue_position'] or 0}")
        status["hint"] = _hint(status)
        return status

    def _parent(self, run_dir: Path) -> str | None:
        """The plan this one was forked from (variants/fork.py): its run id when it is a plan of this
        root, else its path as the fork recorded it (relative to the fork)."""
        lineage = read_lineage(run_dir)
        if lineage is None:
            return None
        parent = parent_of(run_dir)
        return parent.name if parent is not None and parent.parent == self.root.path.resolve() else lineage["parent"]

    def _job_state(self, job: Job, snapshot: dict | None, jobs: list[Job] | None = None) -> dict:
        """What the job says beyond the run folder's telemetry: its place in the queue, and how its
        latest launch went until that launch writes telemetry of its own (which then speaks)."""
        facts = {"exit_code": job.exit_code, "launches": job.launches}
        if job.state == "queued":
            return {**facts, "state": "queued", "failure": None,  # a failure seen before belongs to the last launch
                    "queue_position": queue_position(jobs or self.root.jobs(), job.run_id)}
        if snapshot is not None and job.launched is not None and (snapshot.get("started") or 0) >= job.launched:
            if snapshot["state"] in FINAL_STATES and job.state == "running" and process_alive(job):
                # Its end line is written, but the run still writes its timeline and the job process
                # its exit code: the plan ends (and frees its slot) when they are done.
                return {**facts, "state": "running"}
            return {**facts, "log_tail": _log_tail(self.root, job.run_id)} if snapshot["state"] == "failed" else facts
        if job.state == "running" and process_alive(job):
            return {**facts, "state": "starting", "failure": None}
        if job.cancelled:
            return {**facts, "state": "stopped", "failure": {"step": "-", "reason": "stopped while it waited in the queue",
                                                             "recoverable": True, "resume": ""}}
        # The launch ended before its run wrote a start line: stopped or lost while starting, or refused.
        tail = _log_tail(self.root, job.run_id)
        if job.exit_code is None or job.exit_code == 130 or job.exit_code < 0:
            return {**facts, "state": "stopped", "log_tail": tail,
                    "failure": {"step": "-", "reason": "stopped (or its process lost) before the plan started",
                                "recoverable": True, "resume": ""}}
        reason = next((line for line in reversed(tail) if "error" in line),
                      f"planexe-pipeline run exited with code {job.exit_code} before the plan started")
        return {**facts, "state": "failed", "log_tail": tail,
                "failure": {"step": "-", "reason": reason, "recoverable": True, "resume": ""}}

    # -- listing -----------------------------------------------------------------------------------

    def list_runs(self, limit: int) -> list[dict]:
        jobs = {job.run_id: job for job in self.root.jobs()}
        folders = {p.name for p in self.root.path.iterdir()
                   if RUN_ID.fullmatch(p.name) and p.is_dir() and (p / PLAN_FILE).is_file()}
        runs = []
        for run_id in set(jobs) | folders:
            job = jobs.get(run_id)
            runs.append((job.created if job else (self.root.path / run_id).stat().st_mtime, run_id))
        return [self._summary(run_id, jobs.get(run_id), list(jobs.values()))
                for _, run_id in sorted(runs, reverse=True)[:limit]]

    def _summary(self, run_id: str, job: Job | None, jobs: list[Job]) -> dict:
        """A run in a line, from the job and the telemetry alone (no task graph: the list stays fast)."""
        run_dir = self.root.run_dir(run_id)
        summary = {"run_id": run_id, "state": None, "tasks_done": None, "queue_position": None,
                   "title": _title(self.root, run_id), "speed": job.speed if job else None}
        try:
            state = read_run_state(run_dir, stall_after_s=self.stall_after_s)
            summary.update(state=state.state, tasks_done=len(state.done_keys), started=state.started, ended=state.ended)
            snapshot = {"state": state.state, "started": state.started}
        except (ValueError, OSError):
            snapshot = None
        if job is not None:
            facts = self._job_state(job, snapshot, jobs)
            summary.update({k: facts[k] for k in ("state", "queue_position") if k in facts})
        return summary

    # -- files -------------------------------------------------------------------------------------

    def read_file(self, run_id: str, name: str, offset: int = 0, max_bytes: int | None = None) -> dict:
        run_dir = run_folder(self.root.path, run_id)
        path = file_in_run(run_dir, name)
        if not run_dir.is_dir():
            raise InputError(f"run {run_id} has no files yet: {self._absent(run_id)}")
        relative = path.relative_to(run_dir).as_posix()
        if path.is_dir():
            entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
            return {"run_id": run_id, "name": relative, "folders": [p.name for p in entries if p.is_dir()],
                    "files": [{"name": p.relative_to(run_dir).as_posix(), "bytes": p.stat().st_size}
                              for p in entries if p.is_file()]}
        if not path.is_file():
            raise InputError(f"run {run_id} has no file '{shown(name)}': pass 'report', 'plan', or a name that "
                             "plan_file with name '.' lists")
        limit = mcp().max_file_bytes
        page = min(mcp().page_bytes, limit) if max_bytes is None else max_bytes
        if not isinstance(page, int) or isinstance(page, bool) or not 1024 <= page <= limit:
            raise InputError(f"max_bytes must be a whole number from 1024 to {limit}, got {shown(max_bytes)}")
        size = path.stat().st_size
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= size:
            raise InputError(f"offset must be a whole number from 0 to the file's size ({size}), got {shown(offset)}")
        answer = _page(run_id, path, relative, offset, page, size)
        if max_bytes is None:
            # A page by default is the whole answer as a client reads it (JSON, the text escaped
            # in it) within page_bytes: the text is cut by what the rest of the answer takes.
            for _ in range(4):
                over = len(json.dumps(answer, indent=2, ensure_ascii=False).encode()) - page
                if over <= 0:
                    break
                answer = _page(run_id, path, relative, offset, (answer["next_offset"] or size) - offset - over, size)
        return answer

    def summary(self, run_id: str) -> dict:
        state = self.status(run_id)["state"]  # refuses a run that does not exist
        summary = {"run_id": run_id, "state": state,
                   **plan_summary(run_folder(self.root.path, run_id), state, self.llm_config)}
        if summary["sections"]:
            summary["hint"] = "plan_file with name 'plan' and a section's offset reads the plan from that section"
        return summary

    def whole_file(self, run_id: str, name: str) -> str:
        """A file in one piece, for an MCP resource: refused when over max_file_bytes."""
        run_dir = run_folder(self.root.path, run_id)
        path = file_in_run(run_dir, name)
        if not path.is_file():
            raise InputError(f"run {run_id} has no {name} yet: {self._absent(run_id)}")
        limit = mcp().max_file_bytes
        if path.stat().st_size > limit:
            raise InputError(f"the {name} of run {run_id} has {path.stat().st_size} bytes, over the limit of {limit}: "
                             "read it page by page with plan_file")
        return path.read_text(encoding="utf-8")

    def _absent(self, run_id: str) -> str:
        """Why a run has no such file yet; for a run that does not exist, its refusal is raised."""
        return f"it is {self.status(run_id)['state']}; plan_wait until it is done"

    # -- models and prompts ------------------------------------------------------------------------

    def models(self) -> dict:
        config = load_llm_config(self.llm_config)
        default = parse_model_list(pipeline().llm)
        checks = check_endpoints(list(config.values()))
        models = []
        for name, entry in config.items():
            try:
                resolve_models([name], config)
                why_not = None
            except PipelineError as exc:  # an unset key or a missing extra: named, never its value
                why_not = str(exc)
            settings = entry.settings()
            arguments = entry.arguments
            endpoint = public_address(arguments.get("api_base") or arguments.get("base_url"))
            check = checks[name]
            if why_not is None and check.outcome == NO_ANSWER:
                why_not = (f"model '{name}': its server at {public_address(listing_url(entry))} did not answer "
                           f"({check.why}): start it, or fix its address in llm_config.json")
            models.append({
                "name": name, "class": entry.class_name, "structured_output": settings.structured_output,
                "context_window": settings.context_window, "max_output_tokens": settings.max_output_tokens,
                "model": str(arguments.get("model") or arguments.get("model_name") or "") or None,
                "endpoint": endpoint, "endpoint_check": None if entry.model_class.simulated else check.outcome,
                "ready": why_not is None, "why_not_ready": why_not, "comment": entry.comment})
        return {"default": default, "models": models}


def _page(run_id: str, path: Path, relative: str, offset: int, page: int, size: int) -> dict:
    """Up to `page` bytes of the file from `offset`, as whole UTF-8 characters; a PDF or Word
    export's bytes in base64."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        chunk = handle.read(max(page, 4))
    exported = EXPORT_TYPES.get(path.suffix)
    if exported and exported.binary:
        content, end, encoding = base64.b64encode(chunk).decode("ascii"), offset + len(chunk), {"encoding": "base64"}
    else:
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            content = decoder.decode(chunk, final=offset + len(chunk) >= size)
        except UnicodeDecodeError:
            raise InputError(f"'{relative}' from offset {offset} is not UTF-8 text: pass 0 or a next_offset "
                             "that plan_file returned") from None
        end, encoding = offset + len(chunk) - len(decoder.getstate()[0]), {}
    answer = {"run_id": run_id, "name": relative, "bytes": size, "offset": offset, "content": content, **encoding,
              "next_offset": end if end < size else None,
              "mime_type": exported.mime_type if exported else mimetypes.guess_type(relative)[0] or "text/plain"}
    if end < size:
        answer["hint"] = (f"bytes {offset}-{end - 1} of {size}: call plan_file with offset {end} for the next "
                          "page (max_bytes sets the page size)")
    return answer


def sample_prompts() -> list[dict]:
    return [{"id": s.id, "title": s.title, "tags": list(s.tags), "prompt": s.prompt} for s in load_catalog()]


def _title(root: Root, run_id: str, width: int = 80) -> str:
    for path in (root.prompt_path(run_id), root.run_dir(run_id) / PLAN_FILE):
        try:
            text = " ".join(path.read_text(encoding="utf-8", errors="replace").split())
        except OSError:
            continue
        return text if len(text) <= width else text[:width - 3] + "..."
    return ""
