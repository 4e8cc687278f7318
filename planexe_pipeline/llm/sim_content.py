"""Schema-valid answers for the offline simulator, written from the prompt's own words.

Given the JSON schema a caller asked for (as PydanticOutputParser puts it in the prompt) and
the user message, build an instance. Strings become plan-like sentences made of the prompt's
phrases (sim_prose), and a field about money, time, place, people or the goal states the
prompt's own figure (sim_facts reads them); a currency is the prompt's, a duration in months
is the prompt's, milestones fall inside it, cost lines add up to the prompt's budget and task
durations fill its span. Ids are taken from ids that appear in the prompt (so an answer about
"T-1.2" really names T-1.2). A list holds as many items as its description asks ("Two to four
..."), or the simulator's width setting where the schema marks a list with "x-width", within
the schema's own bounds. Where the schema offers a choice of shapes (a union), the first is
written, or the last for a prompt judged unusable: one with nothing to plan, or one the
simulator was told to judge so (a stage's verdict offers its favourable shape first).
Everything is drawn from one seeded Random, so the same (seed, prompt) always gives the same
answer.
"""

from __future__ import annotations

import math
import random
import re
from functools import lru_cache
from typing import Any

from planexe_pipeline.llm.schema_rules import WIDTH_KEY
from planexe_pipeline.llm.sim_facts import PromptFacts, number_value, read_facts
from planexe_pipeline.llm.sim_prose import SENTENCE_CHARS, Prose, figure_kind

ID_PATTERN = re.compile(r"\b[A-Z]{1,4}-\d{1,4}(?:\.\d{1,4})*\b")
_NUMBER = r"(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty)"
# How many items a list's description asks for: "Exactly three", "Two to four", "At most three",
# "Three candidate locations". A count followed by "per" ("One check per listed ...") is not one.
_ASKED = re.compile(rf"^\W*(?:the\s+)?(?:(exactly|at most|up to)\s+)?{_NUMBER}(?:\s+(?:to|or)\s+{_NUMBER})?\b"
                    rf"(?!\s+\w+\s+per\b)", re.IGNORECASE)
_PROSE_NAMES = ("markdown", "summary", "description", "rationale", "reason", "explanation", "answer", "content",
                "text", "details", "narrative")
_TITLE_NAMES = ("name", "title", "label", "role", "heading", "topic")
_MONEY_NAMES = ("amount", "cost", "budget", "price", "eur", "usd")
OTHER_CURRENCIES = ("EUR", "USD", "GBP", "CHF")
# Days a task takes, where the prompt sets no duration; a schedule spans about this many mean
# tasks, so a prompt's duration scales the days until the schedule fills it.
_TASK_DAYS = (3, 40)
_SCHEDULE_IN_TASKS = 3.5


def ids_in(text: str) -> list[str]:
    """The ids an answer may refer to: those of the same kind as the first id in the prompt
    (same prefix and depth: T-1 phases, T-1.2 tasks, M-3 members). A prompt puts the list it
    asks about before the background that carries other ids."""
    found = list(dict.fromkeys(ID_PATTERN.findall(text)))
    if not found:
        return []

    def kind(identifier: str) -> tuple[str, int]:
        prefix, number = identifier.split("-", 1)
        return prefix, number.count(".")

    first = kind(found[0])
    return [i for i in found if kind(i) == first]


def asked_count(description: str) -> tuple[int, int] | None:
    """(fewest, most) items a list's description asks for, or None where it names no count."""
    match = _ASKED.match(description or "")
    if not match:
        return None
    low = int(number_value(match.group(2)))
    high = int(number_value(match.group(3))) if match.group(3) else low
    if (match.group(1) or "").lower() in ("at most", "up to"):
        low = 1
    return (low, high) if low <= high else None


# What a hostile or compromised model might write: markup, script, handlers, unsafe links and
# path tricks. The hostile mode of the simulator appends one to every text it writes.
HOSTILE_PAYLOADS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "[click here](javascript:alert(document.cookie))",
    "' onmouseover='alert(1)",
    "../../../etc/passwd",
    "/tmp/planexe-owned.txt",
    "<a href=\"javascript:alert(2)\">details</a>",
    "<svg onload=alert(3)>",
]


class AnswerWriter:
    def __init__(self, rng: random.Random, facts: PromptFacts, ids: list[str], widths: dict[str, int], *,
                 hostile: bool = False, length: float = 1.0, unusable: bool = False, prompt: str = ""):
        self.rng = rng
        self.facts = facts
        self.prose = Prose(rng, facts)
        self.ids = ids
        self.widths = widths
        self.hostile = hostile
        self.length = length
        self.unusable = unusable
        self.prompt = prompt
        self.verdict = False  # writing the unusable verdict's own fields
        self.in_list = 0  # lists the value being written is in
        self.defs: dict[str, Any] = {}

    # -- text -------------------------------------------------------------------------------
    def text_for(self, name: str, schema: dict, index: int = 0) -> str:
        lowered = name.lower()
        max_len = schema.get("maxLength")
        said = self.prose.verdict(name, self.prompt) if self.verdict else None
        if said is not None:
            text = said
        elif "currency" in lowered:  # in a list: another currency the plan touches
            text = self.facts.currency if not self.in_list else self.rng.choice(
                [c for c in OTHER_CURRENCIES if c != self.facts.currency])
        elif lowered in ("country", "city_or_region") and self.facts.places:
            text = self.prose.place_value(lowered)
        elif any(k in lowered for k in _TITLE_NAMES) or (max_len and max_len < SENTENCE_CHARS):
            text = self.prose.title()
        else:
            count = self.rng.randint(2, 4) if any(k in lowered for k in _PROSE_NAMES) else 1
            sentences = [self.prose.sentence() for _ in range(max(1, round(count * self.length)))]
            # A figure opens the field, or the first item of a list of such fields: said once, not per item.
            kind = figure_kind(lowered) if not self.in_list or index == 0 else None
            figure = self.prose.figure(kind) if kind else None
            if figure:
                sentences[0] = figure
            text = " ".join(sentences)
        if self.hostile:
            text = f"{text} {self.rng.choice(HOSTILE_PAYLOADS)}"
        if max_len:
            text = text[: int(max_len)]
        return text

    # -- schema walk ------------------------------------------------------------------------
    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = {**self.defs[schema["$ref"].split("/")[-1]], **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema

    def value(self, schema: dict, name: str = "value", index: int = 0, own_id: int | None = None) -> Any:
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            if self.verdict and name == "problem":
                return self.prose.problem(list(schema["enum"]))
            return self.rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if self.resolve(s).get("type") != "null"] or schema[key]
                return self.value(options[-1 if self.unusable else 0], name, index, own_id)
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.value(schema["allOf"][0], name, index, own_id)
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if kind == "object":
            return self.obj(schema, index)
        if kind == "array":
            return self.array(schema, name, own_id)
        if kind == "integer":
            return int(self.number(schema, name))
        if kind == "number":
            return round(self.number(schema, name), 2)
        if kind == "boolean":
            return self.rng.random() < 0.6
        if kind == "string" and (name == "id" or name.endswith("_id")):
            return self.ids[index % len(self.ids)] if self.ids else f"X-{index + 1}"
        return self.text_for(name, schema, index)

    def _range(self, name: str) -> tuple[float, float]:
        """The range a number is drawn from, by what its name says it holds and the prompt's figures."""
        lowered, facts = name.lower(), self.facts
        if "month" in lowered and facts.months:
            return (facts.months, facts.months) if "duration" in lowered else (1, facts.months)
        if "day" in lowered:
            scale = facts.days / (_SCHEDULE_IN_TASKS * sum(_TASK_DAYS) / 2) if facts.days else 1.0
            return _TASK_DAYS[0] * scale, _TASK_DAYS[1] * scale
        if "contingency" in lowered:
            return 5, 15
        if "percent" in lowered or "probability" in lowered or "confidence" in lowered:
            return 10, 90
        if any(k in lowered for k in _MONEY_NAMES):
            return (facts.budget * 0.05, facts.budget * 0.3) if facts.budget else (5_000, 250_000)
        return 1, 10

    def number(self, schema: dict, name: str) -> float:
        low, high = self._range(name)
        # The schema's own bounds win over the name heuristic. Exclusive bounds step in by 1
        # for integers and by 0.01 for numbers (answers are rounded to 2 decimals), so that
        # e.g. a float in (0, 1) is not pushed to 1 by the integer step.
        is_int = schema.get("type") == "integer"
        step = 1 if is_int else 0.01
        lows = [schema["minimum"]] if "minimum" in schema else []
        lows += [schema["exclusiveMinimum"] + step] if "exclusiveMinimum" in schema else []
        highs = [schema["maximum"]] if "maximum" in schema else []
        highs += [schema["exclusiveMaximum"] - step] if "exclusiveMaximum" in schema else []
        floor, ceiling = (max(lows) if lows else None), (min(highs) if highs else None)
        if floor is not None and floor > high:
            low, high = floor, floor + (high - low)
        elif floor is not None:
            low = max(low, floor)
        if ceiling is not None and ceiling < low:
            low, high = (floor if floor is not None else 0 if ceiling >= 0 else ceiling - (high - low)), ceiling
        elif ceiling is not None:
            high = min(high, ceiling)
        high = max(high, low)
        if is_int:
            return self.rng.randint(math.ceil(low), max(math.ceil(low), math.floor(high)))
        return min(max(round(self.rng.uniform(low, high), 2), low), high)

    def width(self, schema: dict, items: dict) -> int:
        if schema.get(WIDTH_KEY) in self.widths:
            width = self.widths[schema[WIDTH_KEY]]
        elif items.get("type") == "object" and ("id" in items.get("properties", {}) or any(
                p.endswith("_id") for p in items.get("properties", {}))) and self.ids:
            width = min(len(self.ids), 60)  # one answer per id the prompt asks about
        elif (asked := asked_count(schema.get("description", ""))) is not None:
            width = self.rng.randint(*asked)
        else:
            width = self.rng.randint(3, 5)
        width = max(width, schema.get("minItems", 0))
        return min(width, schema["maxItems"]) if "maxItems" in schema else width

    def array(self, schema: dict, name: str, own_id: int | None) -> list:
        items = self.resolve(schema.get("items", {"type": "string"}))
        if items.get("type") == "string" and name.endswith("_ids"):
            # References to other ids: only ones listed before this object's own id, so
            # simulated dependencies mostly point backwards, as real ones do.
            earlier = self.ids[: own_id] if own_id is not None else self.ids
            return sorted(set(self.rng.sample(earlier, k=min(len(earlier), self.rng.randint(0, 2)))), key=earlier.index)
        self.in_list += 1
        values = [self.value(items, name, i) for i in range(self.width(schema, items))]
        self.in_list -= 1
        return self._share_budget(values)

    def _share_budget(self, values: list) -> list:
        """Cost lines of one list add up to the prompt's budget, as a model's lines would (a
        contingency, where the answer has one, comes on top)."""
        money = [k for k in (values[0] if values and isinstance(values[0], dict) else {})
                 if any(m in k.lower() for m in _MONEY_NAMES) and isinstance(values[0][k], (int, float))]
        if not self.facts.budget or len(money) != 1 or len(values) < 2:
            return values
        key, target = money[0], self.facts.budget
        drawn = sum(v[key] for v in values) or 1.0
        for v in values[1:]:  # rounded to hundreds: a plan's cost lines are estimates
            v[key] = round(v[key] / drawn * target, -2)
        values[0][key] = round(target - sum(v[key] for v in values[1:]), 2)
        return values

    def obj(self, schema: dict, index: int) -> dict:
        result: dict[str, Any] = {}
        own_id = None
        properties = schema.get("properties", {})
        outer, self.verdict = self.verdict, self.unusable and {"reason", "what_to_change"} <= set(properties)
        for prop, sub in properties.items():
            if prop == "id" or prop.endswith("_id"):
                own_id = index % len(self.ids) if self.ids else None
            result[prop] = self.value(sub, prop, index, own_id)
        self.verdict = outer
        return result


def requested_schema(request: dict[str, Any]) -> dict | None:
    """The schema a request hands the provider, in any dialect structured.MODES names: OpenAI's
    `response_format` (json_schema, or json_object with a schema), Ollama's `format`, or the
    parameters of the one tool offered. None for a request that carries no schema."""
    response_format = request.get("response_format")
    if isinstance(response_format, dict):
        if response_format.get("type") == "json_schema":
            return (response_format.get("json_schema") or {}).get("schema")
        if isinstance(response_format.get("schema"), dict):
            return response_format["schema"]
    if isinstance(request.get("format"), dict):
        return request["format"]
    tools = request.get("tools") or []
    if tools and isinstance(tools[0], dict):
        return (tools[0].get("function") or {}).get("parameters")
    return None


def judged_unusable(user_text: str, unusable_prompts: list[str]) -> bool:
    """Whether a prompt holds one of the markers of prompts to judge unusable."""
    return any(marker and marker in user_text for marker in unusable_prompts)


def _lead(user_text: str) -> str:
    # The leading section only (the plan, in our prompts): later sections are earlier answers,
    # and drawing words from them would echo simulated prose back into itself.
    lead = re.split(r"\n# ", user_text, maxsplit=1)[0]
    return re.sub(r"^# [^\n]*\n", "", lead).strip()


@lru_cache(maxsize=64)
def _facts(lead: str) -> PromptFacts:
    return read_facts(lead)


def write_answer(schema: dict, user_text: str, rng: random.Random, widths: dict[str, int],
                 hostile: bool = False, length: float = 1.0, unusable: bool = False) -> Any:
    lead = _lead(user_text)
    facts = _facts(lead)
    writer = AnswerWriter(rng, facts, ids_in(user_text), widths, hostile=hostile, length=length,
                          unusable=unusable or not facts.plannable, prompt=lead)
    writer.defs = schema.get("$defs", {})
    return writer.value(schema, "root")
