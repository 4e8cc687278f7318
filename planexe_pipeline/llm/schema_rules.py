"""What we tell a provider about a schema, and how we mend near misses in what it answers.

Three views of one pydantic model, declared once (its fields) and derived here:

- `provider_schema()`: the JSON schema a provider constrains its decoding to. References are
  inlined and every object is closed (all properties required, no extra keys), which OpenAI's
  strict mode demands and every grammar-based server accepts. Strings and lists carry bounds
  (`maxLength`, `maxItems`): the bound declared beside the field (`bounded()`, sized to what the
  stage's prompt asks for), else the size a string's role needs (`string_bound()`) and
  `LIST_BOUND` for a list. Constrained decoding then ends a degenerate answer early instead of
  letting it run to the output limit. Our validation is not loosened: the answer is still
  validated against the model itself.
- `worst_case_tokens()`: the longest answer that schema admits, so that a call's output budget
  covers it.
- `repair()`: soft rules. A field declared `json_schema_extra=SOFT` (or `bounded(..., soft=True)`)
  may be mended instead of failing the answer: a number outside its range is clamped, a list
  longer than its bound is trimmed, an unknown enum value becomes its nearest allowed value.
  Each change is described in one line for the stage's notes. A list longer than a hard
  declared bound fails the answer. String lengths are enforced only by the provider's decoding:
  cutting a sentence mid-word would not make it usable.

The bound keys are ours: the prompt mode's schema (`prompt_schema()`) shows none of them, so
declaring or changing a bound changes no prompt.
"""

from __future__ import annotations

import copy
import difflib
import math
from typing import Any

from pydantic import BaseModel

SOFT_KEY = "x-soft"
SOFT: dict[str, Any] = {SOFT_KEY: True}
MAX_ITEMS_KEY = "x-max-items"
MAX_CHARS_KEY = "x-max-chars"
# A width-driven list: the offline simulator writes as many items as its width setting of that
# name says (the standard workload's, unless told otherwise). Unlike the bounds it stays in the
# prompt's schema, which is where the simulator reads it.
WIDTH_KEY = "x-width"
_OUR_KEYS = (SOFT_KEY, MAX_ITEMS_KEY, MAX_CHARS_KEY)

# Longest string each kind of field needs, in characters, by what its name says it holds.
ID_CHARS = 24
NAME_CHARS = 160
PROSE_CHARS = 1200
PLAIN_CHARS = 400
_NAME_WORDS = ("name", "title", "label", "role", "heading", "topic", "stakeholder", "owner", "currency")
_PROSE_WORDS = ("markdown", "summary", "description", "rationale", "narrative", "content", "answer",
                "explanation", "details", "critique", "pitch", "text", "body", "overview")
# Most items of a list whose field declares no bound: every stage's lists declare theirs
# (tests/test_schema_bounds.py), so this serves other models only.
LIST_BOUND = 40

# Keywords OpenAI's strict mode rejects; the bounds they carry stay in our budget and repair.
_STRICT_UNSUPPORTED = ("default", "minLength", "maxLength")
_TOKENS_PER_CHAR = 1 / 3  # errs high: English prose runs near 1/4
_FIELD_OVERHEAD_TOKENS = 8  # key, quotes, colon, comma, indentation


def bounded(items: int | None = None, *, chars: int | None = None, soft: bool = False,
            width: str | None = None, **extra: Any) -> dict[str, Any]:
    """`json_schema_extra` of a field that declares its own bounds: a list's most `items` (a
    width-driven list also names its `width`, whose size the simulator is told), and the most
    `chars` of the field (a string)
    or of each of its items (a list of strings). `soft`: a list longer than `items` is trimmed,
    with a note, instead of failing the answer. `extra`: the field's other schema keywords
    (`minItems`), shown in the prompt as before."""
    declared: dict[str, Any] = dict(extra)
    if width is not None:
        declared[WIDTH_KEY] = width
    if items is not None:
        declared[MAX_ITEMS_KEY] = items
    if chars is not None:
        declared[MAX_CHARS_KEY] = chars
    if soft:
        declared[SOFT_KEY] = True
    return declared


def string_bound(name: str) -> int:
    lowered = name.lower()
    if lowered == "id" or lowered.endswith("_id") or lowered.endswith("_ids"):
        return ID_CHARS
    if any(word in lowered for word in _PROSE_WORDS):
        return PROSE_CHARS
    if any(word in lowered for word in _NAME_WORDS):
        return NAME_CHARS
    return PLAIN_CHARS


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        return [_inline(s, defs) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        target = defs[schema["$ref"].split("/")[-1]]
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return _inline(merged, defs)
    return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}


def _bound(schema: dict, name: str, strict: bool, char_cap: int | None = None) -> dict:
    """Close objects, bound strings and lists, and drop what strict mode refuses, recursively;
    no string bound above `char_cap` where one is given."""
    out = dict(schema)
    kind = out.get("type")
    if "properties" in out:
        out["properties"] = {k: _bound(v, k, strict, char_cap) for k, v in out["properties"].items()}
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
        out.setdefault("type", "object")
    for key in ("anyOf", "oneOf", "allOf"):
        if key in out:
            out[key] = [_bound(s, name, strict, char_cap) for s in out[key]]
    if kind == "array":
        items = out.get("items", {"type": "string"})
        if MAX_CHARS_KEY in out and items.get("type") == "string":
            items = {**items, MAX_CHARS_KEY: out[MAX_CHARS_KEY]}
        out["items"] = _bound(items, name, strict, char_cap)
        declared = out.get(MAX_ITEMS_KEY, LIST_BOUND)
        out["maxItems"] = min(out.get("maxItems", declared), declared)
    if kind == "string" and "enum" not in out and "const" not in out:
        if MAX_CHARS_KEY in out:
            out["maxLength"] = min(out.get("maxLength", out[MAX_CHARS_KEY]), out[MAX_CHARS_KEY])
        else:
            role = string_bound(name)
            out["maxLength"] = min(out.get("maxLength", role), role * 2)
        if char_cap is not None:
            out["maxLength"] = min(out["maxLength"], char_cap)
    if strict:
        for key in _STRICT_UNSUPPORTED:
            out.pop(key, None)
    return out


def full_schema(output_cls: type[BaseModel]) -> dict[str, Any]:
    """The model's schema with references inlined and the provider bounds added (not strict)."""
    raw = output_cls.model_json_schema()
    return _bound(_inline(raw, raw.get("$defs", {})), "root", strict=False)


def prompt_schema(output_cls: type[BaseModel]) -> dict[str, Any]:
    """The schema the prompt mode shows the model: pydantic's own, less our bounds and marks."""
    return _drop_keys(output_cls.model_json_schema(), _OUR_KEYS)


def _drop_keys(schema: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(schema, list):
        return [_drop_keys(s, keys) for s in schema]
    if isinstance(schema, dict):
        return {k: _drop_keys(v, keys) for k, v in schema.items() if k not in keys}
    return schema


# llama.cpp turns a schema into a grammar in which a string of at most N characters is N nested
# rules, and refuses a grammar whose repetitions multiply past a fixed limit ("number of rules
# that are going to be repeated multiplied by the new repetition exceeds sane defaults"): with
# Gemma 3 270M on llama-cpp-python's server, bounds of 160 characters passed every stage tried,
# 400 and 1,200 were refused (and the server crashed on the next request). Grammar-based servers
# (llama.cpp's, Ollama's) get string bounds no longer than this; lists keep theirs.
GRAMMAR_MAX_CHARS = 160


def provider_schema(output_cls: type[BaseModel], *, strict: bool = False, grammar: bool = False) -> dict[str, Any]:
    """The schema a provider constrains decoding to; `grammar` for servers that compile it to a
    llama.cpp grammar (string bounds capped at GRAMMAR_MAX_CHARS)."""
    raw = output_cls.model_json_schema()
    schema = _bound(_inline(raw, raw.get("$defs", {})), "root", strict, GRAMMAR_MAX_CHARS if grammar else None)
    return _drop_keys(schema, _OUR_KEYS if not strict else (*_OUR_KEYS, WIDTH_KEY))


def worst_case_tokens(schema: dict[str, Any]) -> int:
    """Output tokens of the longest answer a bounded schema admits (erring high)."""
    if "properties" in schema:
        return 2 + sum(_FIELD_OVERHEAD_TOKENS + worst_case_tokens(s) for s in schema["properties"].values())
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return max(worst_case_tokens(s) for s in schema[key])
    kind = schema.get("type")
    if kind == "array":
        return 2 + schema.get("maxItems", LIST_BOUND) * (2 + worst_case_tokens(schema.get("items", {})))
    if kind == "string":
        if "enum" in schema:
            return max(math.ceil(len(str(v)) * _TOKENS_PER_CHAR) + 2 for v in schema["enum"])
        return math.ceil(schema.get("maxLength", PLAIN_CHARS) * _TOKENS_PER_CHAR) + 2
    return 6  # numbers, booleans, null


# -- soft rules ------------------------------------------------------------------------------
def repair(output_cls: type[BaseModel], data: Any) -> tuple[Any, list[str]]:
    """(mended data, one line per change) under the soft rules the model declares."""
    notes: list[str] = []
    mended = _repair(full_schema(output_cls), copy.deepcopy(data), "", notes)
    return mended, notes


def _repair(schema: dict, value: Any, path: str, notes: list[str]) -> Any:
    """A rule is soft only on the field that declares it, not on what that field contains."""
    soft = bool(schema.get(SOFT_KEY))
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            if value is not None and len(options) == 1:
                return _repair({**options[0], SOFT_KEY: soft}, value, path, notes)
            return value
    if isinstance(value, dict) and "properties" in schema:
        for key, sub in schema["properties"].items():
            if key in value:
                value[key] = _repair(sub, value[key], f"{path}.{key}" if path else key, notes)
        return value
    if isinstance(value, list) and schema.get("type") == "array":
        if soft and "maxItems" in schema and len(value) > schema["maxItems"]:
            notes.append(f"{path}: kept the first {schema['maxItems']} of {len(value)} items")
            value = value[: schema["maxItems"]]
        elif MAX_ITEMS_KEY in schema and len(value) > schema[MAX_ITEMS_KEY]:
            raise ValueError(f"{path or 'root'} has {len(value)} items, more than the {schema[MAX_ITEMS_KEY]} allowed")
        items = schema.get("items", {})
        return [_repair(items, v, f"{path}[{i}]", notes) for i, v in enumerate(value)]
    if not soft:
        return value
    if schema.get("type") in ("number", "integer") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _clamp(schema, value, path, notes)
    if "enum" in schema and isinstance(value, str) and value not in schema["enum"]:
        return _nearest(schema["enum"], value, path, notes)
    return value


def _clamp(schema: dict, value: float, path: str, notes: list[str]) -> float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    mended = value
    if low is not None and value < low:
        mended = low
    elif high is not None and value > high:
        mended = high
    if schema.get("type") == "integer":
        mended = int(round(mended))
    if mended != value:
        notes.append(f"{path}: {value} is outside {low}..{high}; clamped to {mended}")
    return mended


def _nearest(allowed: list, value: str, path: str, notes: list[str]) -> Any:
    by_text = {str(a).lower(): a for a in allowed}
    match = difflib.get_close_matches(value.strip().lower(), list(by_text), n=1, cutoff=0.6)
    if not match:
        return value  # no obvious nearest: the answer fails validation, as it should
    notes.append(f"{path}: '{value[:40]}' is not one of {', '.join(map(str, allowed))}; read as '{by_text[match[0]]}'")
    return by_text[match[0]]
