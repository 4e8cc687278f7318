"""llm_config.json: named models, each {"class": ..., "arguments": {...}}.

Beside class and arguments an entry may say how it is asked (`structured_output`, one of
structured.MODES; default by class), its `context_window` in tokens (else the one in its
arguments, else asked from an Ollama server), `max_output_tokens` (an answer's budget) and its
`pricing` (llm/pricing.py: rates that stand over the genai-prices table, or the table's name for it).

String arguments may name environment variables as ${VAR}; the values substituted that way
are remembered as secrets so that `redact()` can scrub them from every error and log line.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from planexe_pipeline.errors import ConfigError
from planexe_pipeline.llm.budget import DEFAULT_MAX_OUTPUT_TOKENS, SENT_WINDOW_CAP, ModelSettings
from planexe_pipeline.llm.structured import MODES
from planexe_pipeline.llm.limiter import ProviderLimits, endpoint_key
from planexe_pipeline.llm.pricing import Pricing, pricing_of
from planexe_pipeline.redaction import redact, remember_secret

CONFIG_ENV_VAR = "PLANEXE_LLM_CONFIG"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# An argument under such a name is a credential: a run folder records it only as the ${VAR} that
# names it, never its value (a key written into llm_config.json itself stays there).
_SECRET_NAME = re.compile(r"key|token|secret|password", re.IGNORECASE)
NOT_RECORDED = "<not recorded: written in llm_config.json>"

@dataclass(frozen=True, kw_only=True)
class ModelClass:
    """A "class" of llm_config.json: where its client is, and what that client can do. Whatever
    the pipeline does otherwise for one provider than for another is a field here, read through
    the entry (ModelEntry.model_class), never a test of a class's name."""

    module: str
    attribute: str
    extra: str | None  # the pip extra that installs the client
    api: str  # the API its client speaks, as a trace names it (gen_ai.provider.name)
    # The structured-output modes the client can send (OpenAI's client refuses Ollama's `format`,
    # and Ollama's drops a `response_format` without a word: the answer would be unconstrained),
    # and its native one, where the provider enforces the schema.
    modes: tuple[str, ...]
    default_mode: str
    refused_modes: Mapping[str, str] = field(default_factory=dict)  # mode -> why the client cannot send it
    # Where the window comes from when the entry states none: "stated" (nowhere: an
    # OpenAI-compatible server does not say it, so the entry must), "asked" (the client asks its
    # server on first use) or "held" (the client knows its own).
    window_source: str = "stated"
    # The client sends the window to its server, which sizes its memory by it (Ollama's num_ctx):
    # it is capped at what the plan needs instead of the model's trained maximum.
    sends_window: bool = False
    # The answer's budget and the sampling of a retry are options of the client (Ollama's
    # num_predict, temperature, seed, repeat_penalty), not arguments of the request.
    options_in_client: bool = False
    # How check-model hands the client an HTTP client that keeps the responses: "httpx" (as
    # `http_client`), "ollama" (an ollama client of the same settings, as `client`), or None.
    http_client: str | None = None
    # Retries belong to our executor (one policy, one telemetry line per attempt), so the
    # provider clients must not retry behind its back.
    client_defaults: Mapping[str, Any] = field(default_factory=dict)
    first_call_imports: tuple[str, ...] = ()  # modules its client imports on its first request
    simulated: bool = False  # the offline simulator: each entry a provider of its own, its minute scalable
    # Where its server lists its models (a cheap question that tells whether a local server is
    # up), and the address its client uses when the entry names none.
    listing_path: str | None = None
    default_address: str | None = None


MODEL_CLASSES: dict[str, ModelClass] = {
    "Simulated": ModelClass(module="planexe_pipeline.llm.simulator", attribute="SimulatedLLM", extra=None,
                            api="planexe.simulator",
                            modes=MODES, default_mode="prompt", window_source="held", simulated=True),
    "OpenAILike": ModelClass(module="llama_index.llms.openai_like", attribute="OpenAILike", extra="openai",
                             api="openai", modes=("json_schema", "json_object_schema", "tools", "prompt"), default_mode="json_schema",
                             http_client="httpx", first_call_imports=("openai.resources",), listing_path="/models",
                             client_defaults={"max_retries": 0, "is_chat_model": True, "timeout": 120.0}),
    "Ollama": ModelClass(module="llama_index.llms.ollama", attribute="Ollama", extra="ollama", api="ollama",
                         modes=("ollama_format", "prompt"), default_mode="ollama_format",
                         # The ollama client rebuilds a tool's parameters from its own model, which
                         # keeps each parameter's type, items, description and enum only.
                         refused_modes={"tools": "its client drops nested fields and bounds from a tool's parameters"},
                         window_source="asked", sends_window=True, options_in_client=True, http_client="ollama",
                         listing_path="/api/tags", default_address="http://localhost:11434",
                         client_defaults={"request_timeout": 120.0}),
}

@dataclass(frozen=True)
class ModelEntry:
    name: str
    class_name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    pricing: dict[str, float] | None = None
    comment: str = ""
    structured_output: str | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    spec: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the entry as written

    def recorded_spec(self) -> dict[str, Any]:
        """The entry as written, for a run folder's record: a credential only as the ${VAR} naming it."""
        arguments = {key: (NOT_RECORDED if _SECRET_NAME.search(key) and isinstance(value, str)
                           and _ENV_REF.sub("", value) else value)
                     for key, value in self.arguments.items()}
        return {**self.spec, "arguments": arguments}

    def unrecorded(self) -> list[str]:
        """Arguments whose value a record could not hold (a key written into llm_config.json)."""
        return sorted(key for key, value in self.arguments.items() if value == NOT_RECORDED)

    @property
    def model_class(self) -> ModelClass:
        return MODEL_CLASSES[self.class_name]

    def window(self) -> int | None:
        """The window the pipeline plans with: one the client sends its server is capped to what
        the plan needs."""
        window = self.context_window or self.arguments.get("context_window")
        window = window if isinstance(window, int) and window > 0 else None
        if self.model_class.sends_window and window:
            return min(window, SENT_WINDOW_CAP)
        return window

    def settings(self) -> ModelSettings:
        return ModelSettings(
            name=self.name,
            structured_output=self.structured_output or self.model_class.default_mode,
            context_window=self.window(),
            max_output_tokens=self.max_output_tokens or DEFAULT_MAX_OUTPUT_TOKENS,
            window_required=True,
            window_source=self.model_class.window_source,
            options_in_client=self.model_class.options_in_client,
        )
    limits: ProviderLimits = ProviderLimits()  # what the entry states about its provider's limits

    def price(self, source: str = "llm_config.json") -> Pricing:
        """How the entry's calls are priced (llm/pricing.py): its own rates, the table's, or unknown."""
        model = self.arguments.get("model") or self.arguments.get("model_name")
        address = self.arguments.get("api_base") or self.arguments.get("base_url")
        return pricing_of(name=self.name, spec=self.pricing, model=model if isinstance(model, str) else None,
                          api_base=address if isinstance(address, str) else None,
                          simulated=self.model_class.simulated, source=source)

    def endpoint(self) -> str:
        """The provider endpoint this entry calls (class, address, model; never the key).
        Each simulated entry is a provider of its own."""
        address = self.arguments.get("api_base") or self.arguments.get("base_url") or ""
        model = self.arguments.get("model") or self.arguments.get("model_name") or ""
        if self.model_class.simulated:
            address, model = self.name, model or self.name
        return endpoint_key(class_name=self.class_name, api_base=str(address), model=str(model))

    def env_vars(self) -> list[str]:
        return sorted({m.group(1) for v in _strings(self.arguments) for m in _ENV_REF.finditer(v)})

    def resolved_arguments(self) -> dict[str, Any]:
        """Arguments with ${VAR} substituted; an unset variable is a ConfigError naming it."""
        if self.unrecorded():
            raise ConfigError(f"model '{self.name}' has its {self.unrecorded()[0]} written in llm_config.json, which "
                              "this process was not given: pass --llm-config FILE, or write it as ${VAR}")
        missing = [v for v in self.env_vars() if not os.environ.get(v)]
        if missing:
            raise ConfigError(
                f"model '{self.name}' needs the environment variable {missing[0]}: "
                f"export {missing[0]}=... or pick another model with --llm"
            )
        return _substitute(self.arguments)

    def check(self) -> None:
        """What can be known of the entry before it is called, so that a run stops before it
        writes anything: its class's client is installed and its context window is known."""
        module_name = self.model_class.module
        try:
            installed = importlib.util.find_spec(module_name) is not None
        except ImportError:  # a parent package is missing
            installed = False
        if not installed:
            raise self._missing_extra()
        if self.model_class.window_source == "stated" and self.window() is None:
            raise ConfigError(f"model '{self.name}' names no context window: add \"context_window\": N "
                              f"(the server's window in tokens) to its entry in llm_config.json")

    def _missing_extra(self) -> ConfigError:
        extra = self.model_class.extra
        return ConfigError(f"model '{self.name}' uses class {self.class_name}, which needs the '{extra}' extra: "
                           f"pip install 'planexe-pipeline[{extra}]'")

    def create(self, **client_arguments: Any):
        """Instantiate the llama-index LLM this entry describes; `client_arguments` (objects such
        as an HTTP client, not settings) go to the class beside the entry's own arguments."""
        model_class = self.model_class
        try:
            cls = getattr(importlib.import_module(model_class.module), model_class.attribute)
        except ImportError:
            raise self._missing_extra() from None
        arguments = {**model_class.client_defaults, **self.resolved_arguments(), **client_arguments}
        if model_class.sends_window and self.window():
            arguments["context_window"] = self.window()  # sent to the server (Ollama's num_ctx)
        try:
            return cls(**arguments)
        except Exception as exc:  # pydantic validation of the provider's own fields
            raise ConfigError(
                f"model '{self.name}' ({self.class_name}) rejected its arguments: "
                f"{redact(str(exc)).splitlines()[0]}; fix them in llm_config.json"
            ) from None


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _substitute(value: Any) -> Any:
    if isinstance(value, str):
        def repl(m: re.Match) -> str:
            secret = os.environ[m.group(1)]
            remember_secret(secret)
            return secret
        return _ENV_REF.sub(repl, value)
    if isinstance(value, dict):
        return {k: _substitute(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v) for v in value]
    return value


def default_config_path() -> Path:
    return Path(str(resources.files("planexe_pipeline").joinpath("llm_config.json")))


def config_path(explicit: str | os.PathLike | None = None) -> Path:
    """--llm-config beats $PLANEXE_LLM_CONFIG beats the shipped file."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV_VAR):
        return Path(os.environ[CONFIG_ENV_VAR])
    return default_config_path()


def load_llm_config(path: str | os.PathLike | None = None) -> dict[str, ModelEntry]:
    source = config_path(path)
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"LLM config {source} does not exist: pass --llm-config with an existing file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"LLM config {source} is not valid JSON ({exc}): fix the file or pass another --llm-config") from None
    models = raw.get("models") if isinstance(raw, dict) else None
    if not isinstance(models, dict) or not models:
        raise ConfigError(f'LLM config {source} has no "models" object: see the shipped llm_config.json for the format')
    return parse_models(models, str(source))


def parse_models(models: dict[str, Any], source: str) -> dict[str, ModelEntry]:
    """Entries from the "models" object of an llm_config.json (or of a run's recorded settings)."""
    entries = {}
    for name, spec in models.items():
        if not isinstance(spec, dict) or "class" not in spec:
            raise ConfigError(f"model '{name}' in {source} has no \"class\": use one of {', '.join(MODEL_CLASSES)}")
        if spec["class"] not in MODEL_CLASSES:
            raise ConfigError(
                f"model '{name}' in {source} has unknown class '{spec['class']}': use one of {', '.join(MODEL_CLASSES)}"
            )
        arguments = spec.get("arguments", {})
        if not isinstance(arguments, dict):
            raise ConfigError(f"model '{name}' in {source}: \"arguments\" must be an object")
        # A simulated provider's minute may be scaled (its minute_s argument), so tests and the
        # bench can meet per-minute budgets in seconds; a real provider's minute is 60 s.
        minute_s = arguments.get("minute_s", 60.0) if MODEL_CLASSES[spec["class"]].simulated else 60.0
        limits = ProviderLimits.from_spec(spec, name=name, source=source, minute_s=float(minute_s))
        entries[name] = ModelEntry(name, spec["class"], arguments, spec.get("pricing"), spec.get("comment", ""),
                                   **_call_settings(name, spec, source), spec=spec, limits=limits)
        entries[name].price(source)  # a pricing that cannot be read fails here, naming the entry
    return entries


def _call_settings(name: str, spec: dict, source: str) -> dict[str, Any]:
    mode = spec.get("structured_output")
    if mode is not None and mode not in MODES:
        raise ConfigError(f"model '{name}' in {source} has unknown structured_output '{mode}': "
                          f"use one of {', '.join(MODES)}")
    model_class = MODEL_CLASSES[spec["class"]]
    if mode in model_class.refused_modes:
        raise ConfigError(f"model '{name}' in {source}: structured_output '{mode}' is not supported for class "
                          f"{spec['class']} ({model_class.refused_modes[mode]}); use \"{model_class.default_mode}\"")
    if mode is not None and mode not in model_class.modes:
        raise ConfigError(f"model '{name}' in {source}: structured_output '{mode}' is not one class {spec['class']} "
                          f"can send: use one of {', '.join(model_class.modes)}")
    numbers = {}
    for key in ("context_window", "max_output_tokens"):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ConfigError(f"model '{name}' in {source}: \"{key}\" must be a positive whole number of tokens")
        numbers[key] = value
    return {"structured_output": mode, **numbers}


def load_routes(path: str | os.PathLike | None = None) -> dict[str, tuple[str, ...]]:
    """The config's `routes`: a stage (its task family) or a group of stages (its module's name)
    -> the models its calls are tried on, in order; every other call goes to the run's --llm.
    Each model must be an entry of the same file (the stages and groups are checked by the plan,
    which knows them: planexe_pipeline/routes.py)."""
    source = config_path(path)
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # load_llm_config says what is wrong with the file
    routes = raw.get("routes", {}) if isinstance(raw, dict) else {}
    models = raw.get("models") or {}
    if not isinstance(routes, dict):
        raise ConfigError(f"LLM config {source}: \"routes\" must map stages or groups to lists of model names")
    checked = {}
    for key, names in routes.items():
        if key.startswith("_"):
            continue  # a comment
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise ConfigError(f"LLM config {source}: route '{key}' must name a list of models, e.g. [\"a\", \"b\"]")
        unknown = [n for n in names if n not in models]
        if unknown:
            raise ConfigError(f"LLM config {source}: route '{key}' names unknown model '{unknown[0]}': "
                              f"use one of {', '.join(sorted(models))}")
        checked[key] = tuple(names)
    return checked


def parse_model_list(value: str | list[str] | tuple[str, ...]) -> list[str]:
    names = value.split(",") if isinstance(value, str) else list(value)
    return [n.strip() for n in names if n and n.strip()]


def uses_simulator(names: list[str], config: dict[str, ModelEntry]) -> bool:
    return any(config[n].model_class.simulated for n in names if n in config)


def resolve_models(names: list[str], config: dict[str, ModelEntry]) -> list[ModelEntry]:
    """The entries for a run's model list, checked up front: unknown names, unset keys, missing
    extras and unknown windows fail here, before a run writes anything."""
    if not names:
        raise ConfigError("no model given: pass --llm NAME (see llm_config.json for the names)")
    entries = []
    for name in names:
        if name not in config:
            raise ConfigError(f"unknown model '{name}': use one of {', '.join(sorted(config))} or add it to llm_config.json")
        entry = config[name]
        entry.resolved_arguments()
        entry.check()
        entries.append(entry)
    return entries
