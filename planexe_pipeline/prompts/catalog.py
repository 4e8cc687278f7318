"""The packaged sample prompts, so a first run needs no prompt of the user's own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from planexe_pipeline.errors import InputError

_CATALOG_FILE = "samples.json"


@dataclass(frozen=True)
class SamplePrompt:
    id: str
    title: str
    tags: tuple[str, ...]
    prompt: str


@lru_cache(maxsize=1)
def _load() -> tuple[SamplePrompt, ...]:
    # importlib.resources, not a path next to __file__, so the catalog is found
    # when the package is installed as a wheel or zip as well as in a checkout.
    raw = resources.files(__package__).joinpath(_CATALOG_FILE).read_text(encoding="utf-8")
    return tuple(
        SamplePrompt(
            id=entry["id"],
            title=entry["title"],
            tags=tuple(entry.get("tags", ())),
            prompt=" ".join(entry["prompt"].split()),
        )
        for entry in json.loads(raw)
    )


def load_catalog() -> list[SamplePrompt]:
    # A fresh list each call: the cache stays intact if a caller sorts or trims it.
    return list(_load())


def get_prompt(prompt_id: str) -> SamplePrompt:
    for sample in _load():
        if sample.id == prompt_id:
            return sample
    raise InputError(f"unknown prompt id '{prompt_id}': run 'planexe-pipeline prompts' to list them")


def format_catalog() -> str:
    catalog = _load()
    if not catalog:
        return ""
    id_width = max(len(s.id) for s in catalog)
    title_width = max(len(s.title) for s in catalog)
    lines = [
        f"{s.id:<{id_width}}  {s.title:<{title_width}}  {', '.join(s.tags)}".rstrip()
        for s in catalog
    ]
    return "\n".join(lines) + "\n"
