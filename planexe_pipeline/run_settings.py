"""A run's settings, resolved once and recorded in its folder (run_settings.json).

What a plan is made with (its models and their entries, the routes of stages to their own
models, the budget, the LLM slots, speed, first day, screening, the retry policy and the fan-out
caps) is resolved once, by the command that starts
the run: from its command line, the run folder's record, luigi.cfg and llm_config.json, in that
order. Every task process and every host sharing the folder reads the record; none of it travels
through Luigi's global config or task parameters, and no task reads llm_config.json again.

The record holds no credential (a key only as the ${VAR} naming it) and no absolute path, so a
copied folder is a plan of its own. The prompt is not part of it: Setup records the prompt itself
(001-plan.txt), and the process that resolved the settings holds it in memory until then.

Luigi's own command line (`luigi --module planexe_pipeline.pipeline FullPlan --run-dir D ...`)
resolves the same way: its task parameters stand for the command line, over the record if the
folder has one.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import luigi

from planexe_pipeline import defaults
from planexe_pipeline.errors import ConfigError, RunFolderMismatch
from planexe_pipeline.llm.config import (ModelEntry, config_path, load_llm_config, load_routes, parse_model_list,
                                         parse_models, resolve_models)
from planexe_pipeline.llm.retry_policy import RetryPolicy
from planexe_pipeline.prompt_input import check_start_date
from planexe_pipeline.run_folder import write_whole
from planexe_pipeline.settings import pipeline, retry_policy

SETTINGS_FILE = "run_settings.json"
SPEEDS = ("fast", "full")


@dataclass(frozen=True)
class RunSettings:
    models: tuple[str, ...]
    # Of `models`, in their order, resolved and checked; then those only a route names, and any
    # other a person asked one stage with (planexe-pipeline redo --llm).
    entries: tuple[ModelEntry, ...]
    speed: str = "full"
    start_date: str | None = None  # the schedule's first day; today's date when a run begins without one
    screen: bool = True  # screen the prompt before planning it (ScreenPrompt)
    llm_slots: int = defaults.LLM_SLOTS  # LLM calls in flight at most: the scheduler's cap, the limiter's start
    fast_fanout_width: int = defaults.FAST_FANOUT_WIDTH
    experts_to_criticise: int = 4
    max_prompt_chars: int = 8000
    retry: RetryPolicy = RetryPolicy()
    config_name: str = ""  # the file the entries were read from, by name only: for the reader
    # A stage (its task family) or a group of stages -> the models its calls go to, in order
    # (llm_config.json's "routes"); their entries are among `entries`.
    routes: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    budget_usd: float | None = None  # no call starts that could take the plan's cost past it (llm/spend.py)
    prompt: str | None = dataclasses.field(default=None, compare=False, repr=False)  # in memory only

    def route(self, family: str, group: str) -> tuple[str | None, list[str]]:
        """The route a stage's calls take (its own, else its group's) and its models; else
        (None, the run's models)."""
        for key in (family, group):
            if key in self.routes:
                return key, list(self.routes[key])
        return None, list(self.models)

    def fanout_cap(self) -> int | None:
        return self.fast_fanout_width if self.speed == "fast" else None

    def entries_for(self, names: list[str] | tuple[str, ...] | None = None) -> list[ModelEntry]:
        """The entries of the run's models, or those of `names` (a route's models, or the one a
        stage was asked again with), which the settings hold."""
        by_name = {entry.name: entry for entry in self.entries}
        if not names:
            return [by_name[name] for name in self.models]
        missing = [name for name in names if name not in by_name]
        if missing:
            raise ConfigError(f"model '{missing[0]}' is not among the run's models ({', '.join(self.models)})")
        return [by_name[name] for name in names]

    def to_record(self) -> dict[str, Any]:
        return {"models": list(self.models),
                "entries": {entry.name: entry.recorded_spec() for entry in self.entries},
                "llm_config": self.config_name, "speed": self.speed, "start_date": self.start_date,
                "screen": self.screen, "llm_slots": self.llm_slots, "fast_fanout_width": self.fast_fanout_width,
                "experts_to_criticise": self.experts_to_criticise, "max_prompt_chars": self.max_prompt_chars,
                "retry_policy": dataclasses.asdict(self.retry),
                "routes": {key: list(names) for key, names in self.routes.items()}, "budget_usd": self.budget_usd}

    @classmethod
    def from_record(cls, record: dict[str, Any], source: str) -> "RunSettings":
        entries = parse_models(record["entries"], source)
        models = tuple(record["models"])
        ordered = [*models, *(name for name in entries if name not in models)]
        return cls(models=models, entries=tuple(entries[name] for name in ordered), speed=record["speed"],
                   start_date=record.get("start_date"), screen=bool(record["screen"]),
                   llm_slots=int(record["llm_slots"]), fast_fanout_width=int(record["fast_fanout_width"]),
                   experts_to_criticise=int(record["experts_to_criticise"]),
                   max_prompt_chars=int(record["max_prompt_chars"]), retry=RetryPolicy(**record["retry_policy"]),
                   config_name=record.get("llm_config", ""),
                   routes={key: tuple(names) for key, names in record.get("routes", {}).items()},
                   budget_usd=record.get("budget_usd"))

    def with_changes(self, **changes: Any) -> "RunSettings":
        return dataclasses.replace(self, **changes)

    def with_model(self, name: str, llm_config: str | None) -> "RunSettings":
        """These settings, holding the entry of one more model (for a stage asked again with it)."""
        if any(entry.name == name for entry in self.entries):
            return self
        (entry,) = resolve_models([name], load_llm_config(llm_config))
        return self.with_changes(entries=(*self.entries, entry))


def resolve(*, models: list[str] | tuple[str, ...] = (), llm_config: str | None = None, speed: str | None = None,
            start_date: str | None = None, screen: bool | None = None, llm_slots: int | None = None,
            budget_usd: float | None = None, prompt: str | None = None,
            recorded: RunSettings | None = None) -> RunSettings:
    """The settings of a run from what its command gives, over what its folder recorded, over
    luigi.cfg and llm_config.json. Every model is checked here (name, key, extra, window)."""
    base = recorded
    if models or llm_config or base is None:
        names = list(models) or (list(base.models) if base else parse_model_list(pipeline().llm))
        routes = load_routes(llm_config)
        routed = [name for route in routes.values() for name in route if name not in names]
        entries = tuple(resolve_models([*names, *dict.fromkeys(routed)], load_llm_config(llm_config)))
        # A model a stage was asked again with stays in reach of that stage.
        entries += tuple(e for e in (base.entries if base else ()) if e.name not in {x.name for x in entries})
        config_name = config_path(llm_config).name
    else:
        names, entries, config_name = list(base.models), _with_credentials(base.entries, llm_config), base.config_name
        routes = dict(base.routes)
    if speed is not None and speed not in SPEEDS:
        raise ConfigError(f"speed '{speed}' is not one of {', '.join(SPEEDS)}")
    config = luigi.configuration.get_config()
    # How fast a run goes is each command's own (its luigi.cfg, its --llm-slots); what shapes the plan's
    # files (speed, widths, first day) is the folder's once recorded.
    slots = llm_slots or config.getint("resources", "llm", defaults.LLM_SLOTS)
    settings = pipeline()
    return RunSettings(
        models=tuple(names), entries=entries, speed=speed or (base.speed if base else "full"),
        start_date=check_start_date(start_date) if start_date else (base.start_date if base else None),
        screen=screen if screen is not None else (base.screen if base else True), llm_slots=slots,
        fast_fanout_width=base.fast_fanout_width if base else settings.fast_fanout_width,
        experts_to_criticise=base.experts_to_criticise if base else settings.experts_to_criticise,
        max_prompt_chars=settings.max_prompt_chars,
        retry=retry_policy().policy(), config_name=config_name, routes=routes,
        budget_usd=budget_usd if budget_usd is not None else settings.budget_usd, prompt=prompt)


def _with_credentials(entries: tuple[ModelEntry, ...], llm_config: str | None) -> tuple[ModelEntry, ...]:
    """Recorded entries, with a key that was written into llm_config.json (never recorded) taken
    from this process's own config, when it has the same entry."""
    if not any(entry.unrecorded() for entry in entries):
        return entries
    try:
        config = load_llm_config(llm_config)
    except ConfigError:
        return entries  # the call that needs the key says what to do
    return tuple(config[e.name] if e.unrecorded() and e.name in config else e for e in entries)


def today() -> str:
    return datetime.date.today().isoformat()


# -- the record ----------------------------------------------------------------------------------
# Per process: the settings this process resolved or read, by run folder, with the state of the
# record they belong to. Task processes forked from the process that resolved them inherit them.
_KNOWN: dict[str, tuple[tuple, RunSettings]] = {}


def _record_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / SETTINGS_FILE


def _state(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


def record(run_dir: str | os.PathLike, settings: RunSettings) -> None:
    """Write the run's settings into its folder (whole or not at all) and keep them for this process."""
    path = _record_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(settings.to_record(), indent=2, sort_keys=True) + "\n"
    try:
        unchanged = path.read_text(encoding="utf-8") == text  # scaled-out workers of one plan record the same
    except OSError:
        unchanged = False
    if not unchanged:
        write_whole(path, text)
    _KNOWN[os.path.abspath(run_dir)] = (_state(path), settings)


def recorded(run_dir: str | os.PathLike, llm_config: str | None = None) -> RunSettings | None:
    """The settings the folder recorded (this process's own copy while the record is unchanged), or None."""
    path = _record_path(run_dir)
    state = _state(path)
    if state is None:
        return None
    key = os.path.abspath(run_dir)
    known = _KNOWN.get(key)
    if known is not None and known[0] == state:
        return known[1]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        settings = RunSettings.from_record(data, source=f"{run_dir}/{SETTINGS_FILE}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunFolderMismatch(f"run folder {run_dir} has an unreadable {SETTINGS_FILE} ({exc}): "
                                "delete it to resolve the settings again, or use a new --run-dir") from None
    if known is not None:  # recorded again by another worker of the plan: what only memory holds is kept
        mine = {entry.name: entry for entry in known[1].entries}
        settings = settings.with_changes(prompt=known[1].prompt, entries=tuple(
            mine[e.name] if e.unrecorded() and e.name in mine else e for e in settings.entries))
    settings = settings.with_changes(entries=_with_credentials(settings.entries, llm_config))
    _KNOWN[key] = (state, settings)
    return settings


_FROM_PARAMETERS: dict[tuple, RunSettings] = {}


def for_task(run_dir: str, *, llm: str = "", llm_config: str = "", speed: str = "", start_date: str = "",
             no_screen: bool = False, prompt: str | None = None) -> RunSettings:
    """The settings a task works with: the folder's record; a task started from Luigi's own
    command line may give some of them as parameters, which then stand over the record."""
    found = recorded(run_dir, llm_config or None)
    given = (llm, llm_config, speed if speed != "full" or found is None else "", start_date, no_screen)
    if found is not None and not any(given):
        return found
    key = (os.path.abspath(run_dir), _state(_record_path(run_dir)), *given, prompt)
    if key not in _FROM_PARAMETERS:
        _FROM_PARAMETERS[key] = resolve(models=parse_model_list(llm), llm_config=llm_config or None,
                                        speed=speed or None, start_date=start_date or None,
                                        screen=False if no_screen else None, prompt=prompt, recorded=found)
    return _FROM_PARAMETERS[key]
