"""What stage tests share: the deterministic simulator behind an executor, and the words of a text."""

from __future__ import annotations

import re

from planexe_pipeline.llm.executor import LLMExecutor, NamedModel
from planexe_pipeline.llm.simulator import SimulatedLLM


def simulator() -> LLMExecutor:
    return LLMExecutor([NamedModel.of("simulated", SimulatedLLM(seed=42))])


def words(markdown: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z\-]+", markdown)}
