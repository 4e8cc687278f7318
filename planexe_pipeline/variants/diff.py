"""planexe-pipeline diff A B: what plan B does differently from plan A.

Section by section (the report's sections, as the stages declare them): changed or not, with the
lines added and removed; the items added to, removed from and changed in each list the plan names
(matched by name); the headline figures side by side; and how many of the plan's files differ.
B is read as the later or revised plan: "added" is in B and not in A. The result is the same for
the same two folders, whatever the time or the machine: no clock, no absolute path, sorted lists.
"""

from __future__ import annotations

import difflib
import os
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

from planexe_pipeline.errors import InputError
from planexe_pipeline.variants.fork import parent_of
from planexe_pipeline.variants.plan_facts import ITEM_LISTS, PlanFacts, read_plan_facts

DIFF_CONTEXT_LINES = 2
DIFF_LINES_KEPT = 200  # of one section's line diff; a longer one is cut, saying so
SHOWN_CHARS = 110  # of an item's name or a figure on the terminal
SHOWN_ITEMS = 12  # of each list's added, removed and changed names on the terminal (the page has all)


@dataclass(frozen=True)
class PlanSide:
    label: str  # as the caller named the plan (a path as given, a run id)
    title: str


@dataclass(frozen=True)
class FigureChange:
    name: str
    a: str | None
    b: str | None
    delta: str | None = None  # B - A, for a quantity

    @property
    def changed(self) -> bool:
        return self.a != self.b


@dataclass(frozen=True)
class SectionChange:
    key: str
    title: str
    status: str  # same, changed, only in A, only in B
    added: int = 0  # lines
    removed: int = 0
    diff: tuple[str, ...] = ()  # a unified line diff without its file headers, cut at DIFF_LINES_KEPT
    cut: int = 0  # lines of the diff left out


@dataclass(frozen=True)
class ItemChange:
    name: str
    a_count: int | None  # None: the list is unreadable in that plan
    b_count: int | None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    @property
    def unreadable_in(self) -> str:
        """'A', 'B', 'A and B' for a list whose file is missing or out of shape there, else ''."""
        return " and ".join(side for side, count in (("A", self.a_count), ("B", self.b_count)) if count is None)

    @property
    def any(self) -> bool:
        """Whether there is anything to say about the list."""
        return bool(self.added or self.removed or self.changed or self.unreadable_in) or self.a_count != self.b_count


@dataclass
class PlanDiff:
    a: PlanSide
    b: PlanSide
    relation: str  # how the two plans are related: a fork of the other, the same prompt, ...
    figures: list[FigureChange]
    sections: list[SectionChange]
    items: list[ItemChange]
    files_compared: int = 0
    files_changed: list[str] = field(default_factory=list)
    only_in_a: list[str] = field(default_factory=list)
    only_in_b: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not (self.files_changed or self.only_in_a or self.only_in_b)

    def to_dict(self, *, line_diffs: bool = True, names_kept: int | None = None) -> dict:
        """Everything, or a shorter answer (for an agent): without the sections' line diffs, and with
        at most `names_kept` names in each list of items and files (`<list>_not_shown` counts the rest)."""
        data = asdict(self)
        data["identical"] = self.identical
        for figure, change in zip(data["figures"], self.figures):
            figure["changed"] = change.changed
        if not line_diffs:
            for section in data["sections"]:
                del section["diff"], section["cut"]
        if names_kept is not None:
            for holder, key in [*((item, key) for item in data["items"] for key in ("added", "removed", "changed")),
                                *((data, key) for key in ("files_changed", "only_in_a", "only_in_b"))]:
                if len(holder[key]) > names_kept:
                    holder[f"{key}_not_shown"] = len(holder[key]) - names_kept
                    holder[key] = holder[key][:names_kept]
        return data

    def section(self, key: str) -> dict:
        """One section's change with its line diff; InputError for a key that is no section of both."""
        for change in self.sections:
            if change.key == key:
                return asdict(change)
        raise InputError(f"'{plain(key, 40)}' is no section of both plans: pass one of "
                         f"{', '.join(change.key for change in self.sections)}")


def _delta(a: float | None, b: float | None) -> str | None:
    if a is None or b is None or a == b:
        return None
    difference = b - a
    return f"{difference:+,.0f}" if difference == int(difference) else f"{difference:+,.2f}"


def _section_change(key: str, title: str, a: str | None, b: str | None) -> SectionChange:
    if a is None or b is None:
        return SectionChange(key, title, "only in B" if a is None else "only in A")
    if a == b:
        return SectionChange(key, title, "same")
    lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=DIFF_CONTEXT_LINES))[2:]
    added = sum(1 for line in lines if line.startswith("+"))
    removed = sum(1 for line in lines if line.startswith("-"))
    return SectionChange(key, title, "changed", added, removed, tuple(lines[:DIFF_LINES_KEPT]),
                         max(0, len(lines) - DIFF_LINES_KEPT))


def _item_change(name: str, a: dict[str, str] | None, b: dict[str, str] | None) -> ItemChange:
    if a is None or b is None:
        return ItemChange(name, None if a is None else len(a), None if b is None else len(b))
    return ItemChange(name, len(a), len(b),
                      added=tuple(n for n in b if n not in a), removed=tuple(n for n in a if n not in b),
                      changed=tuple(n for n in a if n in b and a[n] != b[n]))


def _same_folder(one: Path | None, other: Path) -> bool:
    try:
        return one is not None and os.path.samefile(one, other)
    except OSError:
        return False


def _relation(a: PlanFacts, b: PlanFacts) -> str:
    prompts = "the same prompt" if a.prompt_sha256 and a.prompt_sha256 == b.prompt_sha256 else "different prompts"
    if _same_folder(parent_of(b.path), a.path):
        return f"B is a fork of A; {prompts}"
    if _same_folder(parent_of(a.path), b.path):
        return f"A is a fork of B; {prompts}"
    return f"neither is a fork of the other; {prompts}"


def compare(a: PlanFacts, b: PlanFacts, *, a_label: str, b_label: str) -> PlanDiff:
    b_sections = {s.key: s for s in b.sections}
    sections = [_section_change(s.key, s.title, s.text, b_sections[s.key].text) for s in a.sections
                if s.key in b_sections and (s.text is not None or b_sections[s.key].text is not None)]
    b_figures = {f.name: f for f in b.figures}
    figures = [FigureChange(f.name, f.text, b_figures[f.name].text, _delta(f.number, b_figures[f.name].number))
               for f in a.figures if f.name in b_figures]
    items = [_item_change(spec.name, a.items.get(spec.name), b.items.get(spec.name)) for spec in ITEM_LISTS]
    return PlanDiff(PlanSide(a_label, a.title), PlanSide(b_label, b.title), _relation(a, b), figures, sections, items,
                    files_compared=len(set(a.files) | set(b.files)),
                    files_changed=sorted(n for n in a.files if n in b.files and a.files[n] != b.files[n]),
                    only_in_a=sorted(set(a.files) - set(b.files)), only_in_b=sorted(set(b.files) - set(a.files)))


def diff_plans(a: Path, b: Path, *, a_label: str | None = None, b_label: str | None = None) -> PlanDiff:
    """Both must be finished plans (else InputError, one line)."""
    return compare(read_plan_facts(a), read_plan_facts(b), a_label=a_label or str(a), b_label=b_label or str(b))


def plain(text: object, limit: int = SHOWN_CHARS) -> str:
    """Plan text for a terminal: one line, no control characters (an escape sequence in a model's
    answer must not drive the terminal), cut at `limit`."""
    flat = "".join(" " if unicodedata.category(c).startswith("C") else c for c in str(text))
    flat = " ".join(flat.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def text_lines(diff: PlanDiff) -> list[str]:
    lines = [f"A: {plain(diff.a.label)}  ({plain(diff.a.title)})", f"B: {plain(diff.b.label)}  ({plain(diff.b.title)})",
             diff.relation[:1].upper() + diff.relation[1:] + "."]
    if diff.identical:
        return lines + ["The two plans are the same: every file of their steps is byte-identical."]
    lines += ["", "Headline figures (A -> B):"]
    for f in diff.figures:
        a, b = (plain(value if value is not None else "unreadable", 50) for value in (f.a, f.b))
        if not f.changed:
            lines.append(f"  {f.name}: {a} (same)")
        else:
            lines.append(f"  {f.name}: {a} -> {b}" + (f" ({f.delta})" if f.delta else ""))
    changed = [s for s in diff.sections if s.status != "same"]
    lines += ["", f"Sections: {len(changed)} of {len(diff.sections)} changed"]
    for s in changed:
        lines.append(f"  ~ {s.title}: +{s.added} -{s.removed} lines" if s.status == "changed" else f"  {s.title}: {s.status}")
    lines += ["", "Items (+ added in B, - removed, ~ changed):"]
    for item in diff.items:
        if item.unreadable_in:
            lines.append(f"  {item.name}: unreadable in {item.unreadable_in}")
            continue
        if not item.any:
            continue
        lines.append(f"  {item.name} ({item.a_count} -> {item.b_count}): +{len(item.added)} -{len(item.removed)} "
                     f"~{len(item.changed)}")
        for mark, names in (("+", item.added), ("-", item.removed), ("~", item.changed)):
            lines += [f"    {mark} {plain(name)}" for name in names[:SHOWN_ITEMS]]
            if len(names) > SHOWN_ITEMS:
                lines.append(f"    {mark} ... and {len(names) - SHOWN_ITEMS} more (see --html)")
    if not any(item.any for item in diff.items):
        lines.append("  none")
    lines += ["", f"Files: {diff.files_compared} compared; {len(diff.files_changed)} changed, "
                  f"{len(diff.only_in_a)} only in A, {len(diff.only_in_b)} only in B"]
    return lines
