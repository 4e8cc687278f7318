"""Small fakes shared by the LLM-layer tests."""

from __future__ import annotations


class Sleeps:
    """Fake sleep (sync and async) that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def a(self, seconds: float) -> None:
        self.waits.append(seconds)
