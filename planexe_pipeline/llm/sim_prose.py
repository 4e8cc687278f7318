"""The offline simulator's sentences: varied, built from the prompt's own words and figures.

A sentence is put together from short parts (an opening, a verb, a thing, an ending) with a
slot for one of the prompt's phrases at least every few words, so no run of eight words recurs
often in a plan of twenty thousand. A field whose name says it holds money, time, a place, the
team or the goal opens with a sentence that states the prompt's own figure: the budget in its
currency, the duration in the prompt's words, a place as the prompt spells it, the people it
counts. An unusable prompt gets the verdict a model gives it: what is missing, and what to write.
Everything is drawn from the caller's seeded Random: the same prompt gives the same sentences.
"""

from __future__ import annotations

import random

from planexe_pipeline.llm.sim_facts import COUNTRY_CURRENCIES, PromptFacts

_OPENERS = ["First,", "Early on,", "In parallel,", "Each month,", "From the start,", "Where possible,",
            "At each milestone,", "Once approvals are in,", "Before signing anything,", "In the first weeks,",
            "As a rule,", "To keep {b} on track,", "For {b},", "Alongside {b},", "By month {m},", "After {b},"]
_VERBS = ["confirm", "review", "agree", "document", "price", "check", "test", "track", "settle", "secure", "map",
          "rank", "pin down", "write down", "compare", "validate", "schedule", "sign off", "cost out", "plan",
          "budget for", "question", "revisit", "tighten", "simplify", "phase", "protect", "share"]
_THINGS = ["baseline", "costs", "requirements", "risks", "approvals", "schedule", "contracts", "scope", "suppliers",
           "options", "assumptions", "figures", "permits", "milestones", "quality checks", "decisions", "interfaces",
           "staffing", "handover", "lead times", "priorities", "dependencies", "acceptance criteria", "reserve"]
_TAILS = ["before work on {b} starts", "so that {b} is not held up", "with whoever runs {b}", "against the plan for {b}",
          "and brief {owner}", "while {b} is still open", "ahead of {b}", "so {b} can proceed",
          "alongside {b}", "as {b} takes shape", "and report on {b} monthly", "before committing to {b}",
          "by month {m}", "to protect {b}", "and tell {owner} of gaps", "until {b} is settled", "once {b} is agreed",
          "for {b}", "with {owner}", "in writing", "so {owner} can decide on {b}", "and note what {b} needs"]
_OWNERS = ["the project lead", "the sponsor", "the steering group", "the finance lead", "the site team", "the partners",
           "the planning team", "an outside reviewer"]
_MODALS = ["should", "will", "can", "must"]
_ADJECTIVES = ["clear", "agreed", "firm", "tested", "written", "costed", "realistic", "shared"]
_SLIPS = ["may slip", "could stall", "will cost more", "risks rework", "loses time", "falls behind",
          "gets harder to fund", "waits on others"]
_PROBLEMS = ["runs late", "overruns", "falls through", "slips", "is refused", "needs more people", "stalls",
             "is delayed", "grows"]
_FALLBACKS = ["shift effort to", "re-sequence", "bring forward", "scale back", "hold back", "fund",
              "look again at", "protect", "simplify", "reschedule"]
_LINKS = ["depends on", "shapes", "competes with", "feeds into", "is tied to", "limits", "waits for"]
_NOUNS = ["Plan", "Review", "Framework", "Roadmap", "Strategy", "Assessment", "Programme", "Charter",
          "Workstream", "Study", "Register", "Protocol"]

# Field names whose text states a figure of the prompt, by the figure it states.
FIGURE_FIELDS = {
    "budget": ("budget", "cost", "funding", "financ", "money", "spend"),
    "duration": ("timeline", "time_bound", "duration", "deadline", "schedule"),
    "place": ("location", "where", "site", "region", "city"),
    "people": ("team", "staff", "people"),
    "goal": ("goal", "objective", "mission", "elevator"),
}
# Long enough for any sentence here: a field bounded tighter than this gets a title instead.
SENTENCE_CHARS = 80
_MISSING = ["goal", "place", "budget", "deadline"]


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def money(amount: float, currency: str) -> str:
    if amount >= 1e6:
        return f"{currency} {amount / 1e6:,.3g} million"
    return f"{currency} {amount:,.0f}"


def figure_kind(name: str) -> str | None:
    lowered = name.lower()
    return next((kind for kind, words in FIGURE_FIELDS.items() if any(w in lowered for w in words)), None)


class Prose:
    def __init__(self, rng: random.Random, facts: PromptFacts):
        self.rng = rng
        self.facts = facts
        self.owners = _OWNERS + [f"the {count}" for count in facts.counts]

    def _pick(self, k: int) -> list[str]:
        words = list(self.facts.keywords)
        return self.rng.sample(words, k) if len(words) >= k else [self.rng.choice(words) for _ in range(k)]

    def _month(self) -> int:
        return self.rng.randint(1, self.facts.months or 12)

    def _fill(self, template: str, b: str) -> str:
        return template.format(b=b, owner=self.rng.choice(self.owners), m=self._month())

    # -- plain sentences ---------------------------------------------------------------------
    def sentence(self) -> str:
        a, b = self._pick(2)
        rng = self.rng
        form = rng.random()
        if form < 0.45:
            opener = self._fill(rng.choice(_OPENERS), b) + " " if rng.random() < 0.4 else ""
            verb = rng.choice(_VERBS)
            text = f"{opener}{verb} the {a} {rng.choice(_THINGS)} {self._fill(rng.choice(_TAILS), b)}"
        elif form < 0.6:
            owner = rng.choice(self.owners)
            text = f"{owner} {rng.choice(_MODALS)} {rng.choice(_VERBS)} the {a} {rng.choice(_THINGS)} " \
                   f"{self._fill(rng.choice(_TAILS), b)}"
        elif form < 0.72:
            text = f"without {rng.choice(_ADJECTIVES)} {a} {rng.choice(_THINGS)}, {b} {rng.choice(_SLIPS)}"
        elif form < 0.84:
            text = f"if {a} {rng.choice(_PROBLEMS)}, {rng.choice(_FALLBACKS)} {b}"
        else:
            text = f"{a} {rng.choice(_LINKS)} {b}, so {rng.choice(_VERBS)} its {rng.choice(_THINGS)} early"
        return cap(text) + "."

    def title(self) -> str:
        (a,) = self._pick(1)
        return f"{' '.join(cap(w) for w in a.split())} {self.rng.choice(_NOUNS)}"

    # -- sentences that state the prompt's figures -------------------------------------------
    def figure(self, kind: str) -> str | None:
        """A sentence stating the prompt's figure of this kind, or None where the prompt has none."""
        facts, rng = self.facts, self.rng
        a, b = self._pick(2)
        if kind == "budget" and facts.budget:
            amount = money(facts.budget, facts.currency)
            return rng.choice([f"The budget is {amount}, kept in {facts.currency}.",
                               f"{amount} has to cover {a}, {b} and a reserve.",
                               f"Of the {amount} available, {a} takes the largest share.",
                               f"Spending on {a} stays within the {amount} the backers expect.",
                               f"With {amount} to spend, {b} is costed first."])
        if kind == "duration" and facts.months:
            span = facts.duration_words
            return rng.choice([f"{cap(a)} has to be ready within {span}.",
                               f"The work runs over {span}, with {a} due by month {self._month()}.",
                               f"Month {self._month()} is the checkpoint for {a}, within the {span} available.",
                               f"All of it fits in {span}, so {b} cannot wait."])
        if kind == "place" and facts.places:
            place = rng.choice(facts.places)
            return rng.choice([f"{cap(a)} happens in {place}.", f"Sites in {place} suit {a} best.",
                               f"{place} sets the local rules for {a}."])
        if kind == "people" and facts.counts:
            count = rng.choice(facts.counts)
            return rng.choice([f"{cap(count)} carry {a} at first.", f"With {count}, {a} needs a clear split of work.",
                               f"{cap(count)} share the work on {b}."])
        if kind == "goal":
            parts = [rng.choice([f"in {place}", f"at a site in {place}"]) if (place := self._place()) else "",
                     rng.choice([f"within {facts.duration_words}", f"inside {facts.duration_words}",
                                 f"by month {facts.months}"]) if facts.months else "",
                     rng.choice([f"for about {amount}", f"on a budget of {amount}", f"spending at most {amount}",
                                 f"with {amount}"]) if (amount := self._amount()) else ""]
            if any(parts):
                rng.shuffle(parts)
                verb = rng.choice(["Deliver", "Complete", "Have", "Get", "Finish"])
                done = "" if verb in ("Deliver", "Complete", "Finish") else rng.choice([" running", " in place", " working"])
                head = f"{verb} the {facts.keywords[0]}{done}"
                return rng.choice([head, f"{head}, with {a} settled,", f"{head} and {b}"]) + " " + \
                    " ".join(p for p in parts if p) + "."
        return None

    def _place(self) -> str | None:
        return self.rng.choice(self.facts.places) if self.facts.places else None

    def _amount(self) -> str | None:
        if not self.facts.budget:
            return None
        return self.rng.choice([money(self.facts.budget, self.facts.currency), self.facts.budget_words])

    def place_value(self, name: str) -> str:
        """A country, or a city or region, as the prompt names it."""
        countries = [n for n in self.facts.places if n in COUNTRY_CURRENCIES]
        others = [n for n in self.facts.places if n not in COUNTRY_CURRENCIES]
        pool = (countries if "country" in name.lower() else others) or list(self.facts.places)
        return self.rng.choice(pool)

    # -- an unusable prompt --------------------------------------------------------------------
    def verdict(self, name: str, prompt: str) -> str | None:
        """What a model says of a prompt with nothing to plan: which problem, why, what to write."""
        lowered = name.lower()
        if lowered == "reason":
            quoted = " ".join(prompt.split())[:60]
            words = self.facts.words
            return (f'The prompt "{quoted}" is {words} word{"s" if words != 1 else ""} long and names no '
                    f'{", ".join(_MISSING[:-1])} or {_MISSING[-1]} to plan from.')
        if lowered == "what_to_change":
            return ("Describe the project in a few sentences: what should exist at the end, where, for whom, "
                    "by when and with what budget.")
        return None

    def problem(self, choices: list[str]) -> str:
        wanted = "too short" if self.facts.words <= 3 else "placeholder or test"
        return wanted if wanted in choices else self.rng.choice(choices)
