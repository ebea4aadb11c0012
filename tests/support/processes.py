"""Every process the tests start, each in a process group of its own, in one registry.

A fixture stops its processes in its teardown; whatever a failed, erroring or interrupted test left
behind is stopped again at session finish and at interpreter exit (tests/conftest.py), with SIGKILL
to the whole group as the last resort. A process group also gets SIGTERM if the process that
started it dies without cleaning up (killed with SIGKILL, say): no worker outlives the suite to go
on consuming from the broker.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from project.warm_stop import TERM_WHEN_PARENT_DIES

BASE_DIR = Path(__file__).resolve().parents[2]

_started: dict[int, subprocess.Popen] = {}  # process group id (the leader's pid) -> leader


def spawn(
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    cwd: Path = BASE_DIR,
) -> subprocess.Popen:
    """Start `command` as the leader of a new process group, its output in `log_path`."""
    out = log_path.open("wb") if log_path else subprocess.DEVNULL
    try:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=TERM_WHEN_PARENT_DIES,
        )
    finally:
        if log_path:
            out.close()
    _started[process.pid] = process
    return process


def stop(process: subprocess.Popen, *, timeout: float = 10, whole_group: bool = True) -> None:
    """SIGTERM to the group (or to the leader only), SIGKILL to the group after `timeout`, and
    SIGKILL to whatever of the group outlived its leader."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            if whole_group:
                os.killpg(process.pid, signal.SIGTERM)
            else:
                process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    kill(process)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the whole group at once, as a crash or an OOM kill would, and reap the leader."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    _started.pop(process.pid, None)


def group_alive(pgid: int) -> bool:
    """Some process of group `pgid` still runs (a zombie does not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # pid (comm) state ppid pgrp ...; comm may hold spaces, so split after its ")".
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def stop_all(timeout: float = 10) -> list[int]:
    """Stop every registered group still running, all at once; the leaders' pids that were."""
    leftovers = [p for p in list(_started.values()) if p.poll() is None or group_alive(p.pid)]
    for process in leftovers:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in leftovers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
    for process in list(_started.values()):
        kill(process)
    return [process.pid for process in leftovers]


atexit.register(stop_all)
