"""What the fault tests of lost work share: where they run, workers they kill and restart under
the same name, and the pool processes of a worker.

They need what production has: a broker that keeps a message until it is acknowledged (the
filesystem broker deletes it when a worker takes it; the tests read Redis' queues and its
unacknowledged messages) and Postgres (a table lock holds an export still; SQLite has none that
holds a reader). CI runs them in its Postgres + Redis pass.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.support.polling import wait_for
from tests.support.worker import CeleryWorker

on_production_services = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    or connection.vendor != "postgresql",
    reason="needs Redis as the broker and Postgres: make test-postgres",
)


@pytest.fixture
def fault_worker(django_db_setup) -> Iterator[Callable[..., CeleryWorker]]:
    """`fault_worker(like=None, **options)` starts a worker; with `like`, under that worker's
    name (a restart: what `make run` or a supervisor does). All are stopped after the test."""
    workers: list[CeleryWorker] = []

    def start(like: CeleryWorker | None = None, **options) -> CeleryWorker:
        worker = CeleryWorker(**options)
        if like is not None:
            worker.name = like.name
            worker.log_path = like.log_path.with_name(f"{like.log_path.stem}-{len(workers)}.log")
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop(timeout=5)


def pool_processes(worker: CeleryWorker) -> list[int]:
    """The pids of the worker's pool processes (its main process's children)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == worker.process.pid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def kill_pool_process(worker: CeleryWorker, pid: int) -> None:
    """SIGKILL one pool process (an OOM kill, a segfault); the main process replaces it."""
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: pid not in pool_processes(worker), timeout=10, what=f"pool process {pid} gone")


def kill_main_process(worker: CeleryWorker) -> None:
    """SIGKILL the worker's main process only; its pool processes are left to themselves."""
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait(timeout=10)


def unacked(queue: str) -> list[bytes]:
    """Messages of `queue` a worker took and has not acknowledged (Redis keeps them aside until
    the visibility timeout gives them back)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return [m for m in client.hvals("unacked") if queue.encode() in m]
