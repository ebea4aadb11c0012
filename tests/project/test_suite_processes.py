"""No process the tests start outlives the suite: not when a test fails after starting a worker,
not when a fixture errors after starting one, not when pytest itself is killed.

Each case runs an inner pytest with this suite's conftest (its fixtures and its session hooks),
whose test starts a real worker, and then looks for any process of that worker's group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

from tests.support import processes
from tests.support.polling import wait_for
from tests.support.processes import BASE_DIR

INNER_TESTS = '''
import os
import time
from pathlib import Path

import pytest

from tests.support.worker import CeleryWorker


def start_worker() -> None:
    """A worker that nothing in the test stops; its pid goes to the outer test."""
    worker = CeleryWorker(concurrency=1, queues=os.environ["INNER_QUEUE"]).start()
    with Path(os.environ["INNER_PIDS"]).open("a") as pids:
        pids.write(f"{worker.process.pid}\\n")


@pytest.fixture
def fixture_that_errors():
    start_worker()
    raise RuntimeError("the fixture errors after starting a worker")


def test_fails_after_starting_a_worker():
    start_worker()
    assert False, "fails on purpose"


def test_with_a_fixture_that_errors(fixture_that_errors):
    pass


def test_runs_until_pytest_is_killed():
    start_worker()
    time.sleep(600)
'''


def inner_pytest(tmp_path: Path, selection: str) -> tuple[list[str], Path]:
    """The command of an inner pytest run of the INNER_TESTS named by `-k selection`."""
    inner = tmp_path / "test_inner.py"
    inner.write_text(textwrap.dedent(INNER_TESTS))
    command = [
        sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
        "--ds=tests.settings", f"--rootdir={tmp_path}", "-q", "-k", selection, str(inner),
    ]  # fmt: skip
    return command, tmp_path / "pids"


def inner_env(pids: Path) -> dict[str, str]:
    """Its own var/ (embedded broker, SQLite database): the inner run leaves this run's alone."""
    return dict(
        os.environ,
        VAR_DIR=str(pids.parent / "var"),
        INNER_PIDS=str(pids),
        INNER_QUEUE=f"inner-{uuid.uuid4().hex[:8]}",
    )


def worker_groups(pids: Path) -> list[int]:
    return [int(line) for line in pids.read_text().split()] if pids.exists() else []


def test_workers_started_by_a_failing_test_and_an_erroring_fixture_are_gone_when_pytest_ends(
    tmp_path,
):
    command, pids = inner_pytest(tmp_path, "fails_after or fixture_that_errors")

    done = subprocess.run(
        command, cwd=BASE_DIR, env=inner_env(pids), capture_output=True, text=True, timeout=180
    )

    assert "1 failed" in done.stdout and "1 error" in done.stdout, done.stdout + done.stderr
    groups = worker_groups(pids)
    assert len(groups) == 2, done.stdout
    assert [g for g in groups if processes.group_alive(g)] == []


def test_a_worker_is_gone_when_pytest_is_killed_with_sigkill(tmp_path):
    command, pids = inner_pytest(tmp_path, "until_pytest_is_killed")
    inner = processes.spawn(command, env=inner_env(pids), log_path=tmp_path / "inner.log")
    try:
        [group] = wait_for(lambda: worker_groups(pids), timeout=90, what="the inner worker")

        os.kill(inner.pid, signal.SIGKILL)  # no teardown, no session finish, no atexit
        inner.wait(timeout=10)

        wait_for(lambda: not processes.group_alive(group), timeout=30, what="the worker to exit")
    finally:
        processes.stop(inner)
