"""Tasks that exist only for the fault tests; a worker loads them when started with
TEST_WORKER_IMPORTS=tests.faults.fault_tasks (tests/settings.py), no other process knows them."""

from __future__ import annotations

import os
import signal
import time

from celery import shared_task


# Like an email: acknowledged after it ran, so a worker's death sends it back to the queue.
@shared_task(name="tests.faults.kill_own_worker", acks_late=True, reject_on_worker_lost=True)
def kill_own_worker() -> None:
    """A poison message: the pool process running it dies every time (a segfault, an OOM kill)."""
    os.kill(os.getpid(), signal.SIGKILL)


@shared_task(name="tests.faults.sleep", acks_late=True, reject_on_worker_lost=True)
def sleep(seconds: float) -> float:
    """Work that takes `seconds` (a deploy may stop its worker meanwhile)."""
    time.sleep(seconds)
    return seconds
