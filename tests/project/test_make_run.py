"""Ctrl-C in `make run`: honcho stops each Procfile process by sending SIGTERM to its whole
process group; the worker line (project.warm_stop) has the worker's main process alone get it,
so the worker makes a warm shutdown and nothing of it is killed or left running.

Before, the pool processes were killed beside the main process, which then hung on the pool's
lock until honcho killed it (or, honcho itself killed, stayed hung)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import uuid
from pathlib import Path

from tests.support import processes
from tests.support.polling import wait_for
from tests.support.processes import BASE_DIR
from tests.support.worker import worker_env


def processes_marked(marker: str) -> list[int]:
    """The pids of running processes whose environment holds `marker` (a worker and its pool)."""
    pids = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            if marker.encode() in environ.read_bytes().split(b"\0"):
                stat = (environ.parent / "stat").read_text().rpartition(")")[2].split()
                if stat[0] != "Z":
                    pids.append(int(environ.parent.name))
    return pids


def test_ctrl_c_stops_the_worker_with_a_warm_shutdown_and_leaves_nothing_running(
    django_db_setup, tmp_path
):
    token = uuid.uuid4().hex
    marker = f"MAKE_RUN_TEST={token}"
    env = worker_env(
        # The embedded broker, as `make run` uses it, in a folder of this test's own.
        CELERY_BROKER_URL="filesystem://localhost//",
        VAR_DIR=str(tmp_path),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # as the Makefile
        MAKE_RUN_TEST=token,
    )
    log_path = tmp_path / "honcho.log"
    honcho = processes.spawn(
        [str(Path(sys.executable).with_name("honcho")), "start", "worker"],
        env=env,
        log_path=log_path,
        cwd=BASE_DIR,
    )
    try:
        wait_for(lambda: " ready." in log_path.read_text(), timeout=60, what="the worker ready")
        pool = processes_marked(marker)
        assert len(pool) >= 3, pool  # the launcher, the worker and its pool processes

        os.kill(honcho.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends honcho
        honcho.wait(timeout=30)
        log = log_path.read_text()
        assert "Warm shutdown (MainProcess)" in log
        assert "exited with 'signal" not in log, log  # no pool process was killed
        # The warm shutdown takes 3-5 s here (Celery's and billiard's one-second waits); should
        # honcho end the launcher after its 5 s, the worker still finishes it alone.
        wait_for(lambda: not processes_marked(marker), timeout=30, what="the worker gone")
    finally:
        processes.stop(honcho)
        for pid in processes_marked(marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
