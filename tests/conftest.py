"""Shared fixtures: the fake OpenAI-compatible server (tests/support/fake_openai_server.py), and
the export formats the plans made in this process write."""

from __future__ import annotations

import sys
from pathlib import Path

import luigi
import pytest

# `support` is importable whatever pytest's import mode (and whether or not tests/ is a package).
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from support.fake_openai_server import FakeOpenAIServer  # noqa: E402
from support.plan_runs import LIGHT_EXPORTS  # noqa: E402

# Plans made in the test process write the exports that cost milliseconds; the PDF and the Word
# file (seconds of CPU each) only where a module asks for them (`every_export_format`), as the
# plans run by `planexe-pipeline` in tests do (tests/data/reliability_luigi.cfg).
luigi.configuration.get_config().set("export", "formats", LIGHT_EXPORTS)


@pytest.fixture(scope="module")
def every_export_format():
    """The module's plans write every export format."""
    config = luigi.configuration.get_config()
    config.set("export", "formats", "mspdi,ics,pdf,docx")
    yield
    config.set("export", "formats", LIGHT_EXPORTS)


@pytest.fixture
def fake_openai_server():
    """A running fake server on 127.0.0.1 (random port); stopped, and hung requests released, after the test."""
    with FakeOpenAIServer() as server:
        yield server
