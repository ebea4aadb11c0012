"""A real `celery -A project worker` subprocess for tests and benchmarks, started and stopped by
pid (tests/support/processes.py keeps the registry)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from celery import Celery
from django.conf import settings
from django.db import connection

from project.celery import app as celery_app
from tests.support import processes
from tests.support.processes import BASE_DIR as BASE_DIR  # the checkout, for other helpers

LOG_DIR = Path(settings.MEDIA_ROOT).parent / "logs"


def test_database_url() -> str:
    """A DATABASE_URL for the database this process is connected to (the test database in tests)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "")
        if db["PASSWORD"]:
            auth += ":" + quote(db["PASSWORD"])
        host = f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
        return f"postgres://{auth}@{host}/{db['NAME']}"
    raise RuntimeError(f"no worker database URL for {connection.vendor}")


def worker_env(**overrides: str) -> dict[str, str]:
    """The environment of a subprocess that must see the same database and broker as this process
    (and its settings module: DJANGO_SETTINGS_MODULE is inherited)."""
    env = dict(os.environ)
    env.update(
        VAR_DIR=str(Path(settings.MEDIA_ROOT).parent),
        DATABASE_URL=test_database_url(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


# The variable that names each kind of queue (project/env.py), for a worker's environment.
QUEUE_VARIABLES = {
    "default": "CELERY_TASK_DEFAULT_QUEUE",
    "reports": "CELERY_REPORTS_QUEUE",
    "emails": "CELERY_EMAILS_QUEUE",
}


def private_queue(settings, kind: str, name: str) -> dict[str, str]:
    """Route this test's tasks of `kind` to the queue `name` (`settings` is pytest-django's
    fixture, or django.conf.settings in a benchmark), and return the environment that gives a
    worker the same route: a task it sends (a retry, a follow-up) stays on `name` too."""
    settings.TASK_QUEUES = {**settings.TASK_QUEUES, kind: name}
    return {QUEUE_VARIABLES[kind]: name}


class CeleryWorker:
    """A prefork worker in its own process group, so that a kill reaches its pool children too.
    Readiness is a ping through `app` (the project's app, on the settings' broker, by default)."""

    def __init__(
        self,
        *,
        concurrency: int | None = 2,
        queues: str | None = None,
        loglevel: str = "INFO",
        app: Celery = celery_app,
        **env: str,
    ) -> None:
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.concurrency = concurrency
        self.queues = queues
        self.loglevel = loglevel
        self.app = app
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{self.name.split('@')[0]}.log"

    @property
    def hostname(self) -> str:
        return self.name.replace("%h", os.uname().nodename)

    def start(self, timeout: float = 60) -> CeleryWorker:
        command = [
            sys.executable, "-m", "celery", "-A", "project", "worker", "--pool=prefork",
            f"--loglevel={self.loglevel}", f"--hostname={self.name}",
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        if self.concurrency:
            command.append(f"--concurrency={self.concurrency}")
        if self.queues:
            command.append(f"--queues={self.queues}")
        self.process = processes.spawn(command, env=worker_env(**self.env), log_path=self.log_path)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log()}")
            if self.app.control.ping(destination=[self.hostname], timeout=0.5):
                return
        self.stop()
        raise TimeoutError(f"worker did not answer a ping in {timeout}s:\n{self.log()}")

    def assert_running(self) -> None:
        """Fail with the worker's log if it has exited, rather than wait for work it cannot do."""
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a crash or an OOM kill would."""
        if self.process:
            processes.kill(self.process)

    def stop(self, timeout: float = 20) -> None:
        """Warm shutdown: SIGTERM to the main process only, as systemd's KillMode=mixed does (a
        TERM to the pool children too makes the main process hang: docs/reliability.md);
        SIGKILL to the group after `timeout`, and to pool children left behind."""
        if self.process:
            processes.stop(self.process, timeout=timeout, whole_group=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


class BrokerWorker(CeleryWorker):
    """A worker on the broker of `app` (another than the settings' one)."""

    def __init__(self, app: Celery, **options) -> None:
        super().__init__(app=app, **options)
        self.env.setdefault("CELERY_BROKER_URL", app.conf.broker_write_url)
