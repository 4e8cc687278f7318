"""Shared fixtures: the fake OpenAI-compatible server (tests/support/fake_openai_server.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# `support` is importable whatever pytest's import mode (and whether or not tests/ is a package).
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from support.fake_openai_server import FakeOpenAIServer  # noqa: E402


@pytest.fixture
def fake_openai_server():
    """A running fake server on 127.0.0.1 (random port); stopped, and hung requests released, after the test."""
    with FakeOpenAIServer() as server:
        yield server
