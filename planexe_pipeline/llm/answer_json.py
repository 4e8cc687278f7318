"""The JSON object of an answer, with its near misses mended and each mend named.

Models miss JSON in a few ways that lose nothing of what they meant to say: a code fence or a
sentence around the object, a raw control character (a tab, a newline) inside a string, a
comma before a closing bracket, and, from models not held to a grammar, other slips of syntax
(single quotes, a missing comma). Each is mended here instead of spending a retry on it, and
described in one line for the stage's notes (`llm_repairs/`): a mend is never silent.

An answer cut by the output limit is not a near miss: its last item is unfinished. When the
provider says it cut the answer (finish_reason `length`), `salvage_cut()` drops the item that
was being written, provided what remains is valid and its list still has the items the schema
asks for at least. An answer that merely stops mid-object, with no such word from the
provider, stays a failure.

The mending itself is json_repair's (`json_repair.loads`), a maintained parser that reads what
LLMs write; our own code only finds the object and names what was wrong with it.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import json_repair

_FENCE_OPEN = re.compile(r"```[\w-]*\s*$")
_FENCE_CLOSE = re.compile(r"^\s*```")


class UnclosedJSON(ValueError):
    """The answer's object never closes: it was cut, which no mend can undo."""


@dataclass
class _Scan:
    """What a pass over the object's characters found (strings told apart from structure)."""

    end: int | None = None  # index after the object's closing brace; None: it never closes
    trailing_commas: list[int] = field(default_factory=list)
    control_chars: int = 0


def _scan(text: str, start: int) -> _Scan:
    scan = _Scan()
    depth, in_string, escaped, comma = 0, False, False, None
    for i in range(start, len(text)):
        c = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
            elif c < " ":
                scan.control_chars += 1
            continue
        if c == '"':
            in_string, comma = True, None
        elif c in "{[":
            depth, comma = depth + 1, None
        elif c in "}]":
            if comma is not None:
                scan.trailing_commas.append(comma)
            depth, comma = depth - 1, None
            if depth == 0:
                scan.end = i + 1
                return scan
        elif c == ",":
            comma = i
        elif not c.isspace():
            comma = None
    return scan


def _around(before: str, after: str) -> list[str]:
    """Notes on what surrounded the object: a code fence, and any other text."""
    notes = []
    fence = _FENCE_OPEN.search(before)
    if fence and _FENCE_CLOSE.match(after):
        notes.append("removed the code fence around the JSON object")
        before = before[: fence.start()]
        after = after[_FENCE_CLOSE.match(after).end():]
    before, after = before.strip(), after.strip()
    if before:
        notes.append(f"dropped {len(before)} characters of text before the JSON object")
    if after:
        notes.append(f"dropped {len(after)} characters of text after the JSON object")
    return notes


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def read_json(text: str) -> tuple[Any, list[str]]:
    """(the answer's data, one note per mend). Raises UnclosedJSON for an object that never
    closes, ValueError for text with no object or one that json_repair cannot read either."""
    try:
        return json.loads(text), []
    except ValueError:
        pass
    start = text.find("{")
    if start < 0:
        raise ValueError("the answer holds no JSON object")
    scan = _scan(text, start)
    if scan.end is None:
        raise UnclosedJSON("the JSON object never closes: the answer stops mid-object")
    notes = _around(text[:start], text[scan.end:])
    body = text[start:scan.end]
    if scan.trailing_commas:
        notes.append(f"removed {_plural(len(scan.trailing_commas), 'trailing comma')} before a closing bracket")
        for position in reversed(scan.trailing_commas):
            offset = position - start
            body = body[:offset] + body[offset + 1:]
    if scan.control_chars:
        notes.append(f"read {_plural(scan.control_chars, 'raw control character')} inside strings as text")
    try:
        data = json.loads(body, strict=False)
    except ValueError:
        data = json_repair.loads(body, skip_json_loads=True)
        if not isinstance(data, dict) or not data:
            raise ValueError("the answer's JSON object cannot be read, even mended") from None
        notes.append("mended other JSON syntax slips (quotes, commas) with json_repair")
    return data, notes


# -- an answer cut by the output limit -------------------------------------------------------
def _last_path(data: Any) -> list[tuple[list, str]]:
    """Every list on the way to the last value written, outermost first, with its path."""
    lists, node, path = [], data, ""
    while isinstance(node, (dict, list)) and node:
        if isinstance(node, list):
            lists.append((node, path or "root"))
            path, node = f"{path}[{len(node) - 1}]", node[-1]
        else:
            key = list(node)[-1]
            path, node = f"{path}.{key}" if path else key, node[key]
    return lists


def _schema_at(schema: dict, path: str) -> dict:
    """The (inlined) schema of the value at `path` (`a[3].b`), or {} where it cannot be told."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path if path != "root" else ""):
        for key in ("anyOf", "oneOf"):
            options = [s for s in schema.get(key, []) if s.get("type") != "null"]
            schema = options[0] if len(options) == 1 else schema
        if part.startswith("["):
            schema = schema.get("items", {})
        else:
            schema = schema.get("properties", {}).get(part, {})
    for key in ("anyOf", "oneOf"):
        options = [s for s in schema.get(key, []) if s.get("type") != "null"]
        schema = options[0] if len(options) == 1 else schema
    return schema


def salvage_cut(text: str, schema: dict) -> Iterator[tuple[Any, str]]:
    """What a cut answer finished, one candidate at a time, innermost list first: the data
    with the unfinished last item of a list dropped, and the note saying so. Only lists that
    keep at least their schema's `minItems` are offered; the caller validates each candidate."""
    start = text.find("{")
    if start < 0:
        return
    try:
        data = json_repair.loads(text[start:], skip_json_loads=True)
    except Exception:  # json_repair reads anything it can; what it cannot is not salvageable
        return
    if not isinstance(data, dict):
        return
    for depth in range(len(_last_path(data)) - 1, -1, -1):
        candidate = copy.deepcopy(data)
        items, path = _last_path(candidate)[depth]
        least = _schema_at(schema, path).get("minItems", 0)
        if len(items) - 1 < max(least, 1):
            continue
        items.pop()
        yield candidate, (f"{path}: the answer was cut by the output limit; dropped its unfinished last item "
                          f"and kept the {len(items)} before it")
