"""The shape of a telemetry line: the Event base class, how a field is read from a line written by an
older or newer writer (leniently: a value of the wrong type reads as the field's default), and the
registry of kinds that `event_log.read_events` reads. The kinds themselves are in events.py.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, TypeVar


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, (list, tuple)) else ()


# How a field of each annotated type is read from a line that may not match it.
_READERS: dict[str, Callable[[Any], Any]] = {
    "float | None": _number, "int | None": _whole, "str | None": _text, "bool": bool,
    "tuple[str, ...]": _texts, "str": _text,
}


@dataclass(frozen=True, kw_only=True)
class Event:
    """One telemetry line. `start`/`end` are Unix seconds; `end` is None while still open."""

    kind: ClassVar[str]
    # Fields a line must carry (of the right type) to be read at all.
    required: ClassVar[tuple[str, ...]] = ()

    start: float | None = None
    end: float | None = None
    status: str | None = None

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start) if self.start is not None and self.end is not None else 0.0

    def to_record(self) -> dict[str, Any]:
        return {"kind": self.kind, **dataclasses.asdict(self)}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "Event | None":
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in record or record[f.name] is None:
                continue
            value = _READERS[str(f.type)](record[f.name])
            if value is not None:
                values[f.name] = value
        if any(name not in values for name in cls.required):
            return None
        return cls(**values)


E = TypeVar("E", bound=type[Event])
EVENT_KINDS: dict[str, type[Event]] = {}


def event_kind(cls: E) -> E:
    EVENT_KINDS[cls.kind] = cls
    return cls
