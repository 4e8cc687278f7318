"""What the MCP server accepts from a client, checked before anything is read or written.

A client is a program driven by a model: every id, name and number it sends is untrusted. Run
ids are plain names of folders directly under the server's root; file names are relative paths
that must resolve inside their run folder (symlinks included); a prompt and the models of a plan
are checked as `planexe-pipeline run` checks them. Each refusal is an InputError (or the
ConfigError of the model check) with one line that says what to send instead.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from planexe_pipeline.errors import InputError
from planexe_pipeline.llm.config import load_llm_config, parse_model_list, resolve_models
from planexe_pipeline.pipeline import Report
from planexe_pipeline.tasks.exports import EXPORTS
from planexe_pipeline.prompt_input import check_prompt, check_start_date
from planexe_pipeline.prompts.catalog import load_catalog
from planexe_pipeline.settings import mcp, pipeline

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")
SPEEDS = ("fast", "full")
# Names a client may use for the files it wants most: the report, the plan, and each export
# by its format's name (mspdi, ics, pdf, docx).
FILE_ALIASES = {"report": Report.files["html"], "plan": Report.files["md"],
                **{name: file for name, task in EXPORTS.items() for file in task.files.values()}}


def shown(value: object, limit: int = 60) -> str:
    """A client's value inside a one-line message: control characters escaped, long ones cut."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[:limit] + "..."


def inside(path: Path, base: Path) -> bool:
    """Whether path, with every symlink resolved, is base or lies under it."""
    resolved, home = path.resolve(), base.resolve()
    return resolved == home or home in resolved.parents


def run_folder(root: Path, run_id: object) -> Path:
    """The folder of a run id under the root, refusing any id that is not a plain folder name."""
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise InputError(f"'{shown(run_id)}' is not a run id: pass a run_id that plan_create or plan_list returned "
                         "(letters, digits, '-' and '_', at most 80)")
    path = root / run_id
    if not inside(path, root):
        raise InputError(f"run {run_id} is a link that leaves the server's root folder: it is not served")
    return path


def file_in_run(run_dir: Path, name: object) -> Path:
    """A file (or folder) of a run by its name relative to the run folder, or an alias of FILE_ALIASES."""
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"no file name given: pass {', '.join(repr(a) for a in FILE_ALIASES)}, a file name such "
                         "as '023-project_plan.json', or '.' to list the run's files")
    text = FILE_ALIASES.get(name.strip(), name.strip())
    if "\x00" in text or "\\" in text:
        raise InputError(f"file name '{shown(name)}' holds a NUL or a backslash: use '/' between folder and file")
    relative = PurePosixPath(text)
    if relative.is_absolute():
        raise InputError(f"file name '{shown(name)}' is an absolute path: pass a name relative to the run folder, "
                         "such as 'report' or '023-project_plan.json'")
    if ".." in relative.parts:
        raise InputError(f"file name '{shown(name)}' leaves the run folder ('..'): pass a name inside it")
    if any(part.startswith(".") for part in relative.parts if part != "."):
        raise InputError(f"file name '{shown(name)}' names a hidden file, which is not part of the plan")
    path = run_dir.joinpath(*relative.parts)
    if not inside(path, run_dir):
        raise InputError(f"file name '{shown(name)}' is a link that leaves the run folder: it is not served")
    return path


def public_address(url: object) -> str | None:
    """An endpoint's address as it may be shown: scheme, host, port and path; never a user, password,
    query or fragment (where keys hide). None when it is not an http(s) URL."""
    if not isinstance(url, str):
        return None
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path}"


@dataclass(frozen=True)
class PlanRequest:
    """A plan a client asked for, every field checked."""

    prompt: str
    models: list[str]
    speed: str
    workers: int
    start_date: str | None
    budget_usd: float | None = None


def check_budget(budget_usd: float | None) -> float | None:
    if budget_usd is None:
        return None
    if isinstance(budget_usd, bool) or not isinstance(budget_usd, (int, float)) or not budget_usd > 0:
        raise InputError(f"budget_usd must be a number of USD above 0, got {shown(str(budget_usd))}")
    return float(budget_usd)


def sample_prompt(sample_id: str) -> str:
    for sample in load_catalog():
        if sample.id == sample_id:
            return sample.prompt
    raise InputError(f"unknown sample id '{shown(sample_id)}': call example_prompts for the ids")


def check_models(models: list[str] | None, llm_config: str | None) -> list[str]:
    """The model names as a run would resolve them: unknown names, unset keys and missing extras refused."""
    names = parse_model_list(models) if models else parse_model_list(pipeline().llm)
    resolve_models(names, load_llm_config(llm_config))
    return names


def check_workers(workers: object) -> int:
    limit = mcp().max_workers
    if not isinstance(workers, int) or isinstance(workers, bool) or not 1 <= workers <= limit:
        raise InputError(f"workers must be a whole number from 1 to {limit}, got {shown(workers)}")
    return workers


def check_plan_request(*, prompt: str | None, sample_id: str | None, models: list[str] | None, speed: str,
                       workers: int, start_date: str | None, llm_config: str | None,
                       budget_usd: float | None = None) -> PlanRequest:
    if (prompt is None) == (sample_id is None):
        raise InputError("pass either prompt (the idea, a paragraph) or sample_id (see example_prompts), not "
                         f"{'both' if prompt is not None else 'neither'}")
    if sample_id is not None:
        text = sample_prompt(sample_id)
    elif not isinstance(prompt, str):
        raise InputError("prompt must be text: the idea, a paragraph")
    elif not prompt.strip():
        raise InputError("the prompt is empty: describe the project in a paragraph, or pass a sample_id")
    else:
        text = prompt
    checked = check_prompt(text, pipeline().max_prompt_chars)
    if speed not in SPEEDS:
        raise InputError(f"speed must be 'fast' (every fan-out capped at 2 items) or 'full', got '{shown(speed)}'")
    return PlanRequest(prompt=checked, models=check_models(models, llm_config), speed=speed,
                       workers=check_workers(workers),
                       start_date=check_start_date(start_date) if start_date else None,
                       budget_usd=check_budget(budget_usd))
