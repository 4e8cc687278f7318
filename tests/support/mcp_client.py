"""`planexe-pipeline mcp` through the SDK's own client, as an MCP client (an assistant) meets it.

connect_stdio() spawns the server over stdio; connect_http() talks to one started with --http.
Both yield a Client whose call() returns a tool's structured answer and fails the test on a
tool error, and whose refusal() returns the one line of a tool error and fails on success.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from support.plan_runs import REPO, cli_env

FINAL = ("done", "failed", "stopped")


def server_args(root: Path, config: Path, *extra: str) -> list[str]:
    return ["-m", "planexe_pipeline", "mcp", "--root", str(root), "--llm-config", str(config), *extra]


class Client:
    def __init__(self, session: ClientSession):
        self.session = session

    async def call(self, tool: str, **arguments) -> dict:
        result = await self.session.call_tool(tool, arguments)
        assert not result.is_error, f"{tool}({arguments}) was refused: {result.content[0].text}"
        return result.structured_content

    async def refusal(self, tool: str, **arguments) -> str:
        result = await self.session.call_tool(tool, arguments)
        assert result.is_error, f"{tool}({arguments}) was not refused: {result.structured_content}"
        return result.content[0].text

    async def wait_until(self, run_id: str, done, limit_s: float = 90) -> dict:
        """plan_wait again and again until done(status) is true, or the plan ended."""
        deadline = time.monotonic() + limit_s
        status = await self.call("plan_status", run_id=run_id)
        while not done(status) and status["state"] not in FINAL:
            assert time.monotonic() < deadline, f"{run_id} still {status['state']} after {limit_s}s: {status}"
            status = await self.call("plan_wait", run_id=run_id, timeout_s=10, since=status["change"])
        return status

    async def wait_for_end(self, run_id: str, limit_s: float = 90) -> dict:
        return await self.wait_until(run_id, lambda s: s["state"] in FINAL, limit_s)


@contextlib.asynccontextmanager
async def connect_stdio(root: Path, config: Path, *extra: str) -> AsyncIterator[Client]:
    params = StdioServerParameters(command=sys.executable, args=server_args(root, config, *extra), cwd=str(REPO),
                                   env=cli_env())
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield Client(session)


@contextlib.asynccontextmanager
async def connect_http(url: str) -> AsyncIterator[Client]:
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield Client(session)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_http_server(root: Path, config: Path, port: int, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, *server_args(root, config, "--http", "--port", str(port))],
                                  cwd=REPO, env=cli_env(), stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                  start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return server
        assert server.poll() is None, f"the server exited ({server.returncode}): {log.read_text()[-2000:]}"
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after 30 s: {log.read_text()[-2000:]}")


def server_pids(root: Path) -> list[int]:
    """This test's servers on root: processes whose command line is `... mcp --root ROOT ...`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"mcp" in argv and os.fsencode(str(root)) in argv and b"--root" in argv:
            pids.append(int(entry.name))
    return pids
