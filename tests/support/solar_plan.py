"""The solar-farm plan the governance, team and expert tests run on, and what its sections must show."""

from __future__ import annotations

from planexe_pipeline.stages import experts
from support.stage_checks import words

PLAN = ("Build a 5 MW solar farm near Aarhus in Denmark, owned by a local energy cooperative, "
        "with grid connection and battery storage ready by 2027.")
# "local" is left out: the simulator's sentence templates use it whatever the input.
PLAN_WORDS = {"solar", "farm", "aarhus", "denmark", "owned", "energy", "cooperative", "grid",
              "connection", "battery", "storage", "ready"}
PROJECT_PLAN = ("## Project Plan\n\nGoal: commission photovoltaic panels and inverters on leased farmland, "
                "sign the grid connection agreement, and raise member equity.\n")
PROJECT_PLAN_WORDS = {"commission", "photovoltaic", "panels", "inverters", "leased", "farmland", "agreement",
                      "raise", "member", "equity"}


def assert_section(markdown: str, title: str, source_words: set[str] | None = None) -> None:
    assert markdown.startswith(f"## {title}\n\n"), markdown[:80]
    used = words(markdown) & (PLAN_WORDS | PROJECT_PLAN_WORDS if source_words is None else source_words)
    assert len(used) >= 3, f"{title}: markdown does not use the input's words: {sorted(used)}"


def expert_candidate(title: str) -> experts.ExpertCandidate:
    return experts.ExpertCandidate(expert_title=title, expertise="x", why_relevant="y", questions_to_ask=["q"],
                                   how_to_find="z")
