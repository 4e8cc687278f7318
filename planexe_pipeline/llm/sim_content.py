"""Schema-valid answers for the offline simulator, written from the prompt's own words.

Given the JSON schema a caller asked for (as PydanticOutputParser puts it in the prompt) and
the user message, build an instance: strings become short plan-like sentences made of the
prompt's keywords, ids are taken from ids that appear in the prompt (so an answer about
"T-1.2" really names T-1.2), list widths come from the simulator's width settings where the
schema marks a list with "x-width"; where the schema offers a choice of shapes (a union), the
first is written, or the last for a prompt the simulator was told to judge unusable (a stage's
verdict offers its favourable shape first). Everything is drawn from one seeded Random, so the
same (seed, prompt) always gives the same answer.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

from planexe_pipeline.llm.schema_rules import WIDTH_KEY

ID_PATTERN = re.compile(r"\b[A-Z]{1,4}-\d{1,4}(?:\.\d{1,4})*\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]{3,}")
_STOPWORDS = frozenset(
    """about above after again against also among because been before being below between both
    build built but could does doing down during each every from further have having here into
    itself just more most must need only other over same should some such than that their them
    then there these they this those through under until very what when where which while with
    within without would your yours will shall plan project json schema object string array
    output valid follow answer return field fields type items properties required description
    title name list number integer boolean null default true false make made give given using
    used uses each item stage task tasks section below above following based like include the
    and for are was were has had not nor its our you can may any all per via out off own new
    roughly covers local first second third keep lets buy target delivered financed leased open
    want good small large big near mix two three four five six seven eight nine ten hundred
    thousand million billion months month years year weeks week days day should could start
    starts run runs create develop launch get set put let use help helps plus each whole idea
    about around including include includes within under over into onto across able well who
    her his she him one sixteen twelve eleven twenty thirty forty fifty prepare
    """.split()
)
_CLAUSE = re.compile(r"[^A-Za-z\-\s]+")

_VERBS = ["Establish", "Secure", "Validate", "Track", "Document", "Prioritise", "Confirm", "Review",
          "Budget for", "Schedule", "Pilot", "Align", "Define", "Monitor", "Negotiate", "Prepare"]
_SENTENCES = [
    "{V} the {a} baseline before committing funds to {b}.",
    "Secure {a} approvals early so that {b} work is not held up.",
    "Track {a} and {b} weekly against the agreed milestones.",
    "Confirm the {a} requirements in writing with the people who depend on {b}.",
    "Keep a contingency for {a}, because its costs are still uncertain.",
    "Test the {a} assumptions with a small pilot before scaling up {b}.",
    "Give {a} a single accountable owner who reports its risks every month.",
    "Record each {a} decision so that the {b} team can act on it without delay.",
    "Sequence {a} after {b} to avoid rework.",
    "Measure {a} outcomes with two or three simple indicators.",
    "Plan for {a} delays by keeping alternatives for {b} on standby.",
    "Check the rules that apply to {a} early, since permits can take months.",
    "Agree who owns {a} and how progress on {b} is reported.",
]
_NOUNS = ["Plan", "Review", "Framework", "Roadmap", "Strategy", "Assessment", "Programme", "Charter",
          "Workstream", "Study", "Register", "Protocol"]


def keywords(text: str, limit: int = 40) -> list[str]:
    """Short noun phrases of a text, in order of first appearance: the last two content words
    of each run between stopwords and punctuation ("ground-mounted solar farm" -> "solar farm"),
    or a single long word standing alone."""
    seen: dict[str, None] = {}

    def flush(run: list[str]) -> None:
        phrase = " ".join(run[-2:]) if len(run) >= 2 else (run[0] if run and len(run[0]) >= 5 else "")
        if phrase and phrase not in seen:
            seen[phrase] = None
        run.clear()

    for clause in _CLAUSE.split(text):
        run: list[str] = []
        for word in clause.split():
            w = word.lower().strip("-")
            if len(w) >= 3 and w not in _STOPWORDS and not w.endswith("ly"):
                run.append(w)
            else:
                flush(run)
            if len(seen) >= limit:
                return list(seen)
        flush(run)
    return list(seen) or ["project delivery", "budget"]


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
    def __init__(self, rng: random.Random, words: list[str], ids: list[str], widths: dict[str, int],
                 hostile: bool = False, length: float = 1.0, last_alternative: bool = False):
        self.last_alternative = last_alternative
        self.hostile = hostile
        self.length = length
        self.rng = rng
        self.words = words
        self.ids = ids
        self.widths = widths
        self.defs: dict[str, Any] = {}

    # -- text -------------------------------------------------------------------------------
    def _pick(self, k: int) -> list[str]:
        return self.rng.sample(self.words, k) if len(self.words) >= k else [self.rng.choice(self.words) for _ in range(k)]

    def sentence(self) -> str:
        a, b = self._pick(2)
        return self.rng.choice(_SENTENCES).format(V=self.rng.choice(_VERBS), a=a, b=b)

    def title(self) -> str:
        (a,) = self._pick(1)
        return f"{a.title()} {self.rng.choice(_NOUNS)}"

    def text_for(self, name: str, schema: dict) -> str:
        lowered = name.lower()
        max_len = schema.get("maxLength")
        if any(k in lowered for k in ("name", "title", "label", "role", "heading", "topic")):
            text = self.title()
        elif any(k in lowered for k in ("markdown", "summary", "description", "rationale", "reason",
                                        "explanation", "answer", "content", "text", "details", "narrative")):
            text = " ".join(self.sentence() for _ in range(max(1, round(self.rng.randint(2, 4) * self.length))))
        else:
            text = " ".join(self.sentence() for _ in range(max(1, round(self.length))))
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
            return self.rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if self.resolve(s).get("type") != "null"] or schema[key]
                return self.value(options[-1 if self.last_alternative else 0], name, index, own_id)
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
        return self.text_for(name, schema)

    def number(self, schema: dict, name: str) -> float:
        lowered = name.lower()
        low, high = 1, 10
        if "day" in lowered:
            low, high = 3, 40
        elif "percent" in lowered or "probability" in lowered or "confidence" in lowered:
            low, high = 10, 90
        elif any(k in lowered for k in ("cost", "budget", "price", "amount", "eur", "usd")):
            low, high = 5_000, 250_000
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

    def array(self, schema: dict, name: str, own_id: int | None) -> list:
        items = self.resolve(schema.get("items", {"type": "string"}))
        if items.get("type") == "string" and name.endswith("_ids"):
            # References to other ids: only ones listed before this object's own id, so
            # simulated dependencies mostly point backwards, as real ones do.
            earlier = self.ids[: own_id] if own_id is not None else self.ids
            return sorted(set(self.rng.sample(earlier, k=min(len(earlier), self.rng.randint(0, 2)))), key=earlier.index)
        if schema.get(WIDTH_KEY) in self.widths:
            width = self.widths[schema[WIDTH_KEY]]
        elif items.get("type") == "object" and ("id" in items.get("properties", {}) or any(
                p.endswith("_id") for p in items.get("properties", {}))) and self.ids:
            width = min(len(self.ids), 60)  # one answer per id the prompt asks about
        else:
            width = self.rng.randint(3, 5)
        width = max(width, schema.get("minItems", 0))
        if "maxItems" in schema:
            width = min(width, schema["maxItems"])
        return [self.value(items, name, i) for i in range(width)]

    def obj(self, schema: dict, index: int) -> dict:
        result: dict[str, Any] = {}
        own_id = None
        for prop, sub in schema.get("properties", {}).items():
            if prop == "id" or prop.endswith("_id"):
                own_id = index % len(self.ids) if self.ids else None
            result[prop] = self.value(sub, prop, index, own_id)
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


def write_answer(schema: dict, user_text: str, rng: random.Random, widths: dict[str, int],
                 hostile: bool = False, length: float = 1.0, unusable: bool = False) -> Any:
    # Words from the leading section only (the plan, in our prompts): later sections are earlier
    # answers, and drawing words from them would echo simulated prose back into itself.
    lead = re.split(r"\n# ", user_text, maxsplit=1)[0]
    writer = AnswerWriter(rng, keywords(lead), ids_in(user_text), widths, hostile, length, last_alternative=unusable)
    writer.defs = schema.get("$defs", {})
    return writer.value(schema, "root")
