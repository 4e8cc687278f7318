"""One plan launched by the MCP server: `python -m planexe_pipeline.mcp_server.job_process ROOT RUN_ID`.

It runs the plan's `planexe-pipeline run` (run_queue.run_command), waits for it, records its exit
code in the job and starts the next queued plans (run_queue.dispatch): the queue moves on when a
plan ends, with or without a server. run_queue.dispatch launches it in a session of its own.
"""

from __future__ import annotations

import datetime
import shlex
import signal
import subprocess
import sys

from planexe_pipeline.mcp_server.run_queue import Root, dispatch, finish, run_command


def _ignore(signum, frame) -> None:
    """A stop is SIGINT to the whole process group, meant for the run, which stops cleanly on it.
    This process only waits, and must live to record how the run ended. A handler, not SIG_IGN:
    an ignored signal would stay ignored in the run across exec, and the run would never stop."""


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, _ignore)
    root_path, run_id = argv
    root = Root(root_path)
    with root.locked():  # dispatch() saves the job as running under the lock: read it after that
        job = root.load(run_id)
    if job is None:
        print(f"planexe-pipeline mcp: no job {run_id} under {root.path}", file=sys.stderr, flush=True)
        return 2
    command = run_command(root, job)
    with open(root.log_path(run_id), "ab") as log:
        stamp = datetime.datetime.now().isoformat(timespec="seconds")
        log.write(f"--- {stamp} launch {job.launches}: {shlex.join(command)}\n".encode())
        log.flush()
        run = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        exit_code = run.wait()
        log.write(f"--- exit code {exit_code}\n".encode())
    finish(root, run_id, exit_code)
    dispatch(root)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
