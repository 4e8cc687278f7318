"""Small fakes shared by the LLM-layer tests."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Sleeps:
    """Fake sleep (sync and async) that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def a(self, seconds: float) -> None:
        self.waits.append(seconds)


class Lever(BaseModel):
    """A small answer schema with a description, a bounded number and a list around it, as a stage's."""

    name: str = Field(description="Short name.")
    description: str
    weight: int = Field(ge=1, le=5)
