"""Map an LLM's per-id answers back onto the ids we asked about.

A model asked about T-1.1, T-1.2 and T-1.3 may answer "t-1.2", invent T-9, answer T-1.1
twice or forget T-1.3. One rule for every stage that asks about ids: an id is normalised
(trimmed, upper-cased, the first id-shaped token of the text), unknown ids are dropped, the
first answer for an id wins, and ids nobody answered are reported as missing so the caller
can fill a default it flags. Nothing here raises on what the model wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Generic, Iterable, Sequence, TypeVar

A = TypeVar("A")

ID_PATTERN = re.compile(r"\b[A-Z]{1,4}-\d+(?:\.\d+)*\b")


def normalise_id(raw: object) -> str | None:
    """Our id inside what the model wrote ('task t-1.2:' -> 'T-1.2'), or None."""
    match = ID_PATTERN.search(str(raw if raw is not None else "").upper())
    return match.group(0) if match else None


@dataclass
class IdMapping(Generic[A]):
    by_id: dict[str, A] = field(default_factory=dict)  # in the order of the asked ids
    missing: list[str] = field(default_factory=list)  # asked, not answered
    dropped: list[str] = field(default_factory=list)  # what the model wrote that we ignored, with why

    def get(self, asked_id: str) -> A | None:
        return self.by_id.get(asked_id)


def map_answers(asked_ids: Sequence[str], answers: Iterable[A], id_of: Callable[[A], object]) -> IdMapping[A]:
    asked = list(dict.fromkeys(asked_ids))
    known = set(asked)
    found: dict[str, A] = {}
    dropped: list[str] = []
    for answer in answers:
        raw = id_of(answer)
        tid = normalise_id(raw)
        if tid is None or tid not in known:
            dropped.append(f"unknown id '{str(raw)[:40]}'")
        elif tid in found:
            dropped.append(f"duplicate answer for '{tid}' (the first one is kept)")
        else:
            found[tid] = answer
    return IdMapping(
        by_id={tid: found[tid] for tid in asked if tid in found},
        missing=[tid for tid in asked if tid not in found],
        dropped=dropped,
    )


def map_id_list(known_ids: Iterable[str], raw_ids: Iterable[object], exclude: str | None = None) -> list[str]:
    """References an answer makes (e.g. depends_on): known ids only, each once, in the model's order."""
    known = set(known_ids)
    out: list[str] = []
    for raw in raw_ids:
        tid = normalise_id(raw)
        if tid is not None and tid in known and tid != exclude and tid not in out:
            out.append(tid)
    return out
