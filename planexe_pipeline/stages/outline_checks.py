"""Does a part agree with its outline? Figures in a part's text checked against the outline's.

Parts written at the same time cannot see each other, only the outline; a part that states
another duration, a budget total the outline does not have, or another number of deliverables
contradicts the plan it belongs to. Each such statement becomes one line in the plan, naming
the part, the field and both figures, so a reader sees the contradiction instead of a plan
that silently disagrees with itself.
"""

from __future__ import annotations

import re
from typing import Iterator

from pydantic import BaseModel

from planexe_pipeline.stages.markdown import one_line
from planexe_pipeline.stages.project_plan_outline import ProjectPlanOutlineAnswer, money

_NUMBER_WORDS = {w: n for n, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())}
_COUNT = r"(\d{1,3}|" + "|".join(_NUMBER_WORDS) + r")"
_MONTHS = re.compile(rf"\b(?:{_COUNT}[\s-]+months?\b|months?\s+(\d{{1,3}})\b)", re.IGNORECASE)
_COUNTED = re.compile(rf"\b{_COUNT}\s+(?:\w+\s+)?(deliverables|milestones)\b", re.IGNORECASE)
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}
_AMOUNT = r"(\d[\d,]*(?:\.\d+)?)\s*(k|thousand|m|mn|million|bn|billion)?\b"
_TOTAL_WORDS = re.compile(r"\b(total|overall|whole budget|entire budget)\b", re.IGNORECASE)
TOLERANCE = 0.01  # rounding a total to a round figure is not a contradiction


def _count(text: str) -> int:
    return int(text) if text.isdigit() else _NUMBER_WORDS[text.lower()]


def texts(answer: BaseModel, where: str = "") -> Iterator[tuple[str, str]]:
    """(field path, text) of every string in an answer, nested models and lists included."""
    for name, value in answer:
        path = f"{where}.{name}" if where else name
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, BaseModel):
            yield from texts(value, path)
        elif isinstance(value, list):
            for i, item in enumerate(value, start=1):
                if isinstance(item, str):
                    yield f"{path}[{i}]", item
                elif isinstance(item, BaseModel):
                    yield from texts(item, f"{path}[{i}]")


def amounts(text: str, currency: str) -> Iterator[tuple[float, str]]:
    """Sums in the outline's currency a text states ('DKK 30 million', '12,500,000 DKK'), with the
    sentence each stands in."""
    code = re.escape(currency)
    pattern = re.compile(rf"\b{code}\s*{_AMOUNT}|{_AMOUNT}\s*{code}\b", re.IGNORECASE)
    for sentence in re.split(r"(?<=[.!?;])\s+", text):
        for m in pattern.finditer(sentence):
            digits, scale = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            try:
                value = float(digits.replace(",", ""))
            except ValueError:
                continue
            yield value * _SCALE.get((scale or "").lower(), 1.0), sentence


def check_part(part: str, answer: BaseModel, outline: ProjectPlanOutlineAnswer) -> list[str]:
    """One line per statement of the part that contradicts the outline's figures."""
    notes: list[str] = []
    total = money(outline.total, outline.currency)
    counts = {"deliverables": len(outline.deliverables), "milestones": len(outline.milestones)}
    for where, text in texts(answer):
        said = f"the {part} part ({where}) says"
        for m in _MONTHS.finditer(text):
            months = _count(m.group(1) or m.group(2))
            if months > outline.duration_months:
                notes.append(f"{said} '{one_line(m.group(0))}', beyond the outline's {outline.duration_months} months")
        for value, sentence in amounts(text, outline.currency):
            stated = money(value, outline.currency)
            if value > outline.total * (1 + TOLERANCE):
                notes.append(f"{said} {stated}, more than the outline's whole budget of {total}")
            elif _TOTAL_WORDS.search(sentence) and abs(value - outline.total) > outline.total * TOLERANCE:
                notes.append(f"{said} a total of {stated}; the outline's budget total is {total}")
        for m in _COUNTED.finditer(text):
            kind = m.group(2).lower()
            if _count(m.group(1)) != counts[kind]:
                notes.append(f"{said} '{one_line(m.group(0))}'; the outline has {counts[kind]} {kind}")
    return notes
