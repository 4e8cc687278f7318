"""The bakery prompt the framing and plan tests run on, and how to tell a text was written from it."""

from __future__ import annotations

import re

PROMPT = ("Open a sourdough bakery with a small cafe in Lyon, France. Budget 300,000 EUR, opening within "
          "nine months, supplying three restaurants with bread every morning.")
PROMPT_WORDS = {"sourdough", "bakery", "cafe", "lyon", "france", "budget", "opening", "restaurants", "bread", "morning"}


def mentions_prompt(markdown: str) -> bool:
    return bool(PROMPT_WORDS & set(re.findall(r"[a-z]+", markdown.lower())))
