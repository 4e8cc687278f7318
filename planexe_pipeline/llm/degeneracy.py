"""Answers that are valid and useless: what a model writes when it loops or has nothing to say.

A schema admits answers no reader can use, and small models give them: ten risks with the same
title and text, a reasoning of "100%", a field that says one phrase over and over, a field that
repeats its own description or the instructions it was given. `findings()` names each such
place in one line; the caller retries such an answer once with varied sampling and, if it
persists, keeps the better of the two and flags it in the plan.

The thresholds are set on those patterns, far from what varied writing looks like: the
offline simulator writes every text from a dozen sentence templates filled with the prompt's
keywords, so its items resemble each other, and its plans must never be flagged.

- Items of one list: an item whose text (words, digits read as one sign, ids and choices left
  out) shares at least NEAR_DUPLICATE of its word pairs with an earlier item's repeats it; a
  list of three or more in which more than half the items repeat an earlier one is degenerate.
- A loop: one phrase of up to LOOP_MAX_WORDS words said LOOP_REPEATS or more times in a row,
  covering at least LOOP_MIN_WORDS words and LOOP_SHARE of the field.
- A field written in sentences (a description, a reasoning, a mitigation...) with fewer than
  two words.
- An echo: a field that repeats a field description of the schema, names a JSON type, or
  whose words come mostly (ECHO_SHARE) from runs of ECHO_WORDS words of the instructions or
  of the plan's own text.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Iterator

from planexe_pipeline.llm.schema_rules import ID_CHARS, PROSE_CHARS, string_bound
from planexe_pipeline.telemetry.event_log import read_events
from planexe_pipeline.telemetry.events import LLMCallEvent

NEAR_DUPLICATE = 0.8
LOOP_MAX_WORDS = 12
LOOP_REPEATS = 3
LOOP_MIN_WORDS = 6
LOOP_SHARE = 0.4
ECHO_WORDS = 6
ECHO_SHARE = 0.8
ECHO_MIN_WORDS = 8

_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*|\d+", re.IGNORECASE)  # "cost-benefit" is one word
# Fields whose value is meant as a sentence, beside the prose roles of schema_rules.
_SENTENCE_NAMES = ("reason", "mitigation", "justification", "why", "explanation", "rationale", "consequence",
                   "question", "statement", "basis", "recommendation", "assessment")
_LABEL_NAMES = ("title", "name", "label", "heading", "role", "topic")  # a word or two is enough there
# A value that is a type's name or a placeholder: what a model copies from a schema it was shown.
_TYPE_WORDS = frozenset({"string", "str", "integer", "int", "number", "float", "boolean", "bool", "array",
                         "object", "null", "list", "dict", "...", "<string>", "text here"})
_SCHEMA_WORDS = re.compile(r'"(type|properties|items|required|\$ref|\$defs|additionalProperties)"\s*:')


@dataclass(frozen=True)
class Finding:
    path: str
    what: str
    weight: float  # how much of the answer it spoils, 0..1: the better of two answers has less

    def __str__(self) -> str:
        return f"{self.path or 'answer'}: {self.what}"


def _words(text: str) -> list[str]:
    return [w.lower() if not w.isdigit() else "#" for w in _WORD.findall(text)]


def _pairs(words: list[str]) -> set[tuple[str, str]]:
    return set(zip(words, words[1:])) or {(w, "") for w in words}


def _runs(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


class _Reader:
    """One walk over an answer and its (inlined) schema, collecting findings."""

    def __init__(self, schema: dict, instructions: str, plan: str):
        self.schema = schema
        self.found: list[Finding] = []
        self.descriptions = {" ".join(_words(d)) for d in _descriptions(schema) if len(_words(d)) >= 3}
        self.instruction_runs = _runs(_words(instructions), ECHO_WORDS)
        self.plan_runs = _runs(_words(plan), ECHO_WORDS)

    def walk(self, schema: dict, value: Any, path: str, name: str) -> None:
        for key in ("anyOf", "oneOf"):
            options = [s for s in schema.get(key, []) if s.get("type") != "null"]
            if len(options) == 1:
                schema = options[0]
        if isinstance(value, dict):
            for key, sub in value.items():
                self.walk(schema.get("properties", {}).get(key, {}), sub, f"{path}.{key}" if path else key, key)
        elif isinstance(value, list):
            items = schema.get("items", {})
            self.repeated_items(items, value, path, name)
            for i, sub in enumerate(value):
                self.walk(items, sub, f"{path}[{i}]", name)
        elif isinstance(value, str) and not _is_choice(schema) and string_bound(name) != ID_CHARS:
            self.text(schema, value, path, name)

    # -- lists -------------------------------------------------------------------------------
    def repeated_items(self, schema: dict, items: list, path: str, name: str) -> None:
        texts = [_words(" ".join(_item_texts(schema, item, name))) for item in items]
        if len(items) < 3 or not any(texts):
            return
        seen: list[set] = []
        repeats = 0
        for words in texts:
            if not words:
                continue  # an item with no text of its own neither repeats nor is repeated
            pairs = _pairs(words)
            if any(_overlap(pairs, other) >= NEAR_DUPLICATE for other in seen):
                repeats += 1
            seen.append(pairs)
        if repeats * 2 > len(items):
            self.found.append(Finding(path, f"{repeats} of its {len(items)} items repeat an earlier one",
                                      repeats / len(items)))

    # -- one text ----------------------------------------------------------------------------
    def text(self, schema: dict, value: str, path: str, name: str) -> None:
        words = _words(value)
        lowered = " ".join(value.lower().split())
        if lowered in _TYPE_WORDS or _SCHEMA_WORDS.search(value):
            self.found.append(Finding(path, f"is a JSON type, schema keyword or placeholder, not an answer "
                                            f"('{_short(value)}')", 1.0))
            return
        if " ".join(words) in self.descriptions:
            self.found.append(Finding(path, f"repeats a field description of the schema ('{_short(value)}')", 1.0))
            return
        if _is_sentence_field(schema, name) and len([w for w in words if w != "#"]) < 2:
            self.found.append(Finding(path, f"says nothing ('{_short(value)}')", 1.0))
            return
        loop = _loop(words)
        if loop:
            self.found.append(Finding(path, f"says '{_short(' '.join(loop[0]))}' {loop[1]} times in a row",
                                      min(1.0, loop[1] * len(loop[0]) / len(words))))
            return
        for source, runs in (("the instructions", self.instruction_runs), ("the plan's text", self.plan_runs)):
            share = _copied_share(words, runs)
            if share >= ECHO_SHARE:
                self.found.append(Finding(path, f"copies {source} ({round(share * 100)}% of its words)", share))
                return


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _overlap(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _is_choice(schema: dict) -> bool:
    return "enum" in schema or "const" in schema


def _is_sentence_field(schema: dict, name: str) -> bool:
    lowered = name.lower()
    if any(word in lowered for word in _LABEL_NAMES):
        return False
    return string_bound(name) == PROSE_CHARS or any(word in lowered for word in _SENTENCE_NAMES)


def _item_texts(schema: dict, item: Any, name: str) -> Iterator[str]:
    """An item's own words: its free texts, not its ids or its picks from a list of choices."""
    if isinstance(item, dict):
        properties = schema.get("properties", {})
        for key, sub in item.items():
            yield from _item_texts(properties.get(key, {}), sub, key)
    elif isinstance(item, list):
        for sub in item:
            yield from _item_texts(schema.get("items", {}), sub, name)
    elif isinstance(item, str) and not _is_choice(schema) and string_bound(name) != ID_CHARS:
        yield item


def _loop(words: list[str]) -> tuple[tuple[str, ...], int] | None:
    """(phrase, times) of the longest run of one phrase said again and again, if it is a loop."""
    best: tuple[tuple[str, ...], int] | None = None
    for size in range(1, LOOP_MAX_WORDS + 1):
        i = 0
        while i + 2 * size <= len(words):
            times = 1
            while words[i + times * size: i + (times + 1) * size] == words[i: i + size]:
                times += 1
            covered = times * size
            if times >= LOOP_REPEATS and covered >= LOOP_MIN_WORDS and covered >= LOOP_SHARE * len(words):
                if best is None or covered > len(best[0]) * best[1]:
                    best = (tuple(words[i: i + size]), times)
            i += 1
    return best


def _copied_share(words: list[str], runs: set[tuple[str, ...]]) -> float:
    """Share of the words that lie in a run of ECHO_WORDS words found in the source."""
    if len(words) < ECHO_MIN_WORDS or not runs:
        return 0.0
    covered = [False] * len(words)
    for i in range(len(words) - ECHO_WORDS + 1):
        if tuple(words[i:i + ECHO_WORDS]) in runs:
            covered[i:i + ECHO_WORDS] = [True] * ECHO_WORDS
    return sum(covered) / len(words)


def _descriptions(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        if isinstance(schema.get("description"), str):
            yield schema["description"]
        for value in schema.values():
            yield from _descriptions(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _descriptions(value)


def findings(schema: dict, data: Any, *, instructions: str = "", plan: str = "") -> list[Finding]:
    """Every degenerate place of an answer (its validated data, dumped to JSON types), given the
    inlined schema it answered, the instructions it was given (the system prompt) and the
    plan's own text (the user prompt's leading section)."""
    reader = _Reader(schema, instructions, plan)
    reader.walk(schema, data, "", "root")
    return _grouped(reader.found)


def _grouped(found: list[Finding]) -> list[Finding]:
    """One finding for a field that fails alike in many items of a list (`risks[*].mitigation`)."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in found:
        kind = re.sub(r" \('.*'\)$", "", finding.what)
        groups.setdefault((re.sub(r"\[\d+\]", "[*]", finding.path), kind), []).append(finding)
    merged = []
    for (path, _), members in groups.items():
        first = members[0]
        if len(members) == 1:
            merged.append(first)
        else:
            merged.append(Finding(f"{path} (in {len(members)} items)", first.what,
                                  min(1.0, sum(f.weight for f in members))))
    return merged


def within_retry_budget(run_dir: str | os.PathLike | None, share: float) -> bool:
    """Whether a degenerate answer may be asked again: while the run's failed attempts stay
    within `share` of its attempts (the first always), as its telemetry counts them; read only
    when an answer is degenerate."""
    if share <= 0 or share >= 1 or run_dir is None:
        return share > 0
    attempts = read_events(run_dir, LLMCallEvent)
    # This attempt fails and one more is made: two attempts and one retry more than recorded.
    return sum(not a.ok for a in attempts) + 1 <= max(1.0, share * (len(attempts) + 2))
