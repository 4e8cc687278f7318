import re

import pytest

from planexe_pipeline.errors import InputError
from planexe_pipeline.prompts.catalog import SamplePrompt, format_catalog, get_prompt, load_catalog

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def test_catalog_has_at_least_ten_prompts():
    assert len(load_catalog()) >= 10


def test_ids_are_unique_and_slug_like():
    ids = [s.id for s in load_catalog()]
    assert len(ids) == len(set(ids))
    for pid in ids:
        assert SLUG.match(pid), pid


@pytest.mark.parametrize("sample", load_catalog(), ids=lambda s: s.id)
def test_every_prompt_is_one_paragraph_of_60_to_150_words(sample: SamplePrompt):
    assert sample.title.strip()
    assert sample.tags and all(t.strip() for t in sample.tags)
    assert "\n" not in sample.prompt
    assert 60 <= len(sample.prompt.split()) <= 150


def test_known_ids_load():
    solar = get_prompt("solar-farm-denmark")
    assert "5 MW" in solar.prompt and "Denmark" in solar.prompt
    bakery = get_prompt("bakery-lyon")
    assert "bakery" in bakery.prompt and "Lyon" in bakery.prompt
    for sample in load_catalog():
        assert get_prompt(sample.id) == sample


def test_unknown_id_raises_input_error_with_the_listing_hint():
    with pytest.raises(InputError) as info:
        get_prompt("no-such-prompt")
    assert str(info.value) == "unknown prompt id 'no-such-prompt': run 'planexe-pipeline prompts' to list them"


def test_callers_cannot_corrupt_the_cached_catalog():
    first = load_catalog()
    first.clear()
    assert len(load_catalog()) >= 10


def test_format_catalog_aligns_id_title_and_tags():
    lines = format_catalog().splitlines()
    catalog = load_catalog()
    assert len(lines) == len(catalog)
    title_columns = {line.index(s.title) for line, s in zip(lines, catalog)}
    assert len(title_columns) == 1  # every title starts in the same column
    for line, s in zip(lines, catalog):
        assert line.startswith(s.id + " ")
        assert line.endswith(", ".join(s.tags))
