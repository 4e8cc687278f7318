"""What the offline simulator reads in a prompt before it answers: the prompt's own figures and names.

A model planning "a bakery in Lyon, about 180,000 euros, open within nine months" states that
budget in euros, that duration and that city; the simulator does the same. `read_facts` takes
from the plan text the budget and its currency, the duration, the proper nouns as written (so
"Croix-Rousse" and "Denmark" keep their capitals), the counted things ("two founders"), and
the short noun phrases the sentences are made of. It also judges whether there is anything to
plan at all: a prompt of one or two words, or of placeholder words only ("asdf", "lorem
ipsum"), is screened as unusable, as a model would screen it.

Everything here is a pure function of the text: the same prompt gives the same facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NUMBER_WORDS = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"twenty-four": 24, "thirty": 30, "thirty-six": 36, "forty": 40, "fifty": 50})
_NUMBER = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"
_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9}
_SCALE_WORD = r"(thousand|million|billion|mn|bn|k|m)"
# Spellings of a currency in a prompt, and the ISO 4217 code a budget is kept in.
CURRENCY_WORDS = {"euros": "EUR", "euro": "EUR", "eur": "EUR", "€": "EUR", "dkk": "DKK", "kroner": "DKK",
                  "krone": "DKK", "sek": "SEK", "nok": "NOK", "dollars": "USD", "dollar": "USD", "usd": "USD",
                  "$": "USD", "gbp": "GBP", "pounds": "GBP", "£": "GBP", "chf": "CHF", "francs": "CHF"}
_CURRENCY = r"(euros?|eur|€|dkk|kroner|krone|sek|nok|dollars?|usd|\$|gbp|pounds|£|chf|francs)"
_AMOUNT_AFTER = re.compile(rf"{_NUMBER}\s*{_SCALE_WORD}?\s*{_CURRENCY}(?![A-Za-z])", re.IGNORECASE)
_AMOUNT_BEFORE = re.compile(rf"(?<![A-Za-z]){_CURRENCY}\s*{_NUMBER}\s*{_SCALE_WORD}?\b", re.IGNORECASE)
# Where a prompt names no currency, the one of the country it names.
COUNTRY_CURRENCIES = {"Denmark": "DKK", "Sweden": "SEK", "Norway": "NOK", "Switzerland": "CHF", "UK": "GBP",
                      "England": "GBP", "Scotland": "GBP", "Britain": "GBP", "USA": "USD", "America": "USD",
                      "France": "EUR", "Germany": "EUR", "Italy": "EUR", "Spain": "EUR", "Netherlands": "EUR",
                      "Ireland": "EUR", "Austria": "EUR", "Belgium": "EUR", "Finland": "EUR", "Portugal": "EUR"}
DEFAULT_CURRENCY = "USD"
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30.44, "year": 365.25}
# A duration the plan runs for: "within nine months", "in 24 weeks", "over three years", "a six-month ...".
_DURATION = re.compile(rf"\b(?:(within|in|over|for|lasting|takes|take)\s+(?:about\s+|roughly\s+|the\s+next\s+)?)?"
                       rf"{_NUMBER}([\s-])(day|week|month|year)s?\b(?!-old)", re.IGNORECASE)
# People counted in a prompt ("two founders", "three volunteer developers", "80 guests"): a
# number, at most two words, then a plural that names people.
_HEAD_COUNT = re.compile(rf"\b{_NUMBER}\s+((?:[a-z-]+\s+){{0,2}}?[a-z]+s)\b", re.IGNORECASE)
_PEOPLE = re.compile(r"(?:ers|ors|ants|ists|ees|ians|ents|people|staff|guests|pupils|children|households|"
                     r"members|volunteers|families|couples|residents|users|customers|clients)$")
# Words that stand for a verb or an action, not a thing, when a phrase is one word alone.
_NOT_THINGS = frozenset("""agree promote design deploy combines checks tells ships spend install finish replace
    publish renovate organise organize needs wants sells offers lets covers brings""".split())
_PLACEHOLDERS = frozenset("""asdf asdfgh qwerty qwertz foo bar baz test testing lorem ipsum dolor sit amet
    hello hi xyz abc aaa blah todo tbd placeholder sample example dummy""".split())
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
    her his she him one sixteen twelve eleven twenty thirty forty fifty prepare goal steps
    """.split()
)
_CLAUSE = re.compile(r"[^A-Za-z\-\s]+")
_SENTENCE_END = re.compile(r"(?:^|[.!?:]\s+|\n\s*)#*\s*$")


def number_value(text: str) -> float:
    word = text.lower()
    return float(_NUMBER_WORDS[word]) if word in _NUMBER_WORDS else float(text.replace(",", ""))


@dataclass(frozen=True)
class PromptFacts:
    budget: float | None = None  # in `currency`
    budget_words: str = ""  # as the prompt says it: "180,000 euros"
    currency: str = DEFAULT_CURRENCY
    months: int | None = None  # the duration the prompt sets, rounded to whole months
    duration_words: str = ""  # as the prompt says it: "nine months"
    names: tuple[str, ...] = ()  # proper nouns as written, in order: places, organisations, languages
    places: tuple[str, ...] = ()  # the names the prompt puts something in, near or at: "Lyon", "Jutland"
    counts: tuple[str, ...] = ()  # counted things as written: "two founders", "80 guests"
    keywords: tuple[str, ...] = field(default_factory=lambda: ("project delivery", "budget"))
    words: int = 0  # words of the prompt
    plannable: bool = True

    @property
    def days(self) -> float | None:
        return self.months * _UNIT_DAYS["month"] if self.months else None


def _budget(text: str) -> tuple[float | None, str, str | None]:
    found = []
    for m in _AMOUNT_AFTER.finditer(text):
        found.append((m.start(), number_value(m.group(1)) * _SCALE.get((m.group(2) or "").lower(), 1.0),
                      m.group(0), m.group(3)))
    for m in _AMOUNT_BEFORE.finditer(text):
        found.append((m.start(), number_value(m.group(2)) * _SCALE.get((m.group(3) or "").lower(), 1.0),
                      m.group(0), m.group(1)))
    if not found:
        return None, "", None
    _, value, words, currency = min(found)  # the first sum the prompt names is its budget
    return value, words.strip(), CURRENCY_WORDS[currency.lower()]


def _duration(text: str) -> tuple[int | None, str]:
    """The plan's duration: a span introduced as one ("within nine months") before any other."""
    spans = []
    for m in _DURATION.finditer(text):
        days = number_value(m.group(2)) * _UNIT_DAYS[m.group(4).lower()]
        rank = 0 if m.group(1) else 1 if m.group(3) == "-" else 2  # "within 18 months", "a six-month ...", others
        spans.append((rank, m.start(), days, m.group(0)[m.start(2) - m.start():]))
    if not spans:
        return None, ""
    _, _, days, words = min(spans)
    return max(1, round(days / _UNIT_DAYS["month"])), words


def _written_as_is(text: str) -> tuple[set[str], tuple[str, ...]]:
    """(words whose capitals are their own: proper nouns and acronyms, as written; the proper
    nouns among them, in order). A capital that only starts a sentence is not one of them."""
    tokens = list(re.finditer(r"[A-Za-zÀ-ÿ][\w'’\-]*", text))
    inner = {t.group(0) for t in tokens if not _SENTENCE_END.search(text[: t.start()])}
    kept: set[str] = set()
    names: dict[str, None] = {}
    for t in tokens:
        word = t.group(0).strip("-")
        if word == word.lower() or word.lower() in _STOPWORDS:
            continue
        if word in inner or not _SENTENCE_END.search(text[: t.start()]) or not word[1:].islower():
            kept.add(word)
            if not word.isupper():
                names[word] = None
    return kept, tuple(names)


def _places(text: str, names: tuple[str, ...]) -> tuple[str, ...]:
    """Names standing where a place stands: after "in", "near", "at", "of", "from" (a few lower-case
    words may come between: "in central Jutland"), or listed after such a place ("Lyon, France")."""
    places: dict[str, None] = {}
    for name in names:
        before = r"\b(?:in|near|at|of|from|across|around)\s+(?:the\s+)?(?:[a-z-]+\s+){0,2}"
        after_place = "|".join(re.escape(p) for p in places)
        if re.search(rf"{before}{re.escape(name)}\b", text) or (
                after_place and re.search(rf"\b(?:{after_place})(?:\s+\w+)?,\s+{re.escape(name)}\b", text)):
            places[name] = None
    return tuple(places)


def _head_counts(text: str) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for m in _HEAD_COUNT.finditer(text):
        if number_value(m.group(1)) >= 2 and _PEOPLE.search(m.group(2).lower()):
            found[f"{m.group(1)} {m.group(2)}"] = None
    return tuple(found)


def keywords(text: str, as_written: frozenset[str] = frozenset(), limit: int = 40) -> list[str]:
    """Short noun phrases of a text, in order of first appearance: the last two content words
    of each run between stopwords and punctuation ("ground-mounted solar farm" -> "solar farm"),
    or a single long word standing alone. Proper nouns keep their capitals, other words are
    lower-cased ("central Jutland"). A lone word that names an action is left out."""
    seen: dict[str, None] = {}

    def flush(run: list[str]) -> None:
        phrase = " ".join(run[-2:]) if len(run) >= 2 else (run[0] if run and _thing(run[0]) else "")
        if phrase and phrase.lower() not in {s.lower() for s in seen}:
            seen[phrase] = None
        run.clear()

    for clause in _CLAUSE.split(text):
        run: list[str] = []
        for word in clause.split():
            stripped = word.strip("-")
            w = stripped if stripped in as_written else stripped.lower()
            if len(w) >= 3 and w.lower() not in _STOPWORDS and w.lower() not in CURRENCY_WORDS and not w.endswith("ly"):
                run.append(w)
            else:
                flush(run)
            if len(seen) >= limit:
                return list(seen)
        flush(run)
    return list(seen) or ["project delivery", "budget"]


def _thing(word: str) -> bool:
    return len(word) >= 5 and word.lower() not in _NOT_THINGS and not word.endswith(("ed", "ing"))


def plannable(text: str) -> bool:
    """Whether a prompt holds anything to plan: three distinct words of substance, not all placeholders."""
    words = {w.lower() for w in re.findall(r"[A-Za-z]{2,}", text)}
    content = {w for w in words if w not in _STOPWORDS and re.search(r"[aeiouy]", w)}
    return len(content) >= 3 and not content <= _PLACEHOLDERS


def read_facts(text: str) -> PromptFacts:
    budget, budget_words, currency = _budget(text)
    months, duration_words = _duration(text)
    as_written, names = _written_as_is(text)
    if currency is None:
        currency = next((COUNTRY_CURRENCIES[n] for n in names if n in COUNTRY_CURRENCIES), DEFAULT_CURRENCY)
    return PromptFacts(budget=budget, budget_words=budget_words, currency=currency, months=months,
                       duration_words=duration_words, names=names, places=_places(text, names),
                       counts=_head_counts(text),
                       keywords=tuple(keywords(text, frozenset(as_written))), words=len(text.split()),
                       plannable=plannable(text))
