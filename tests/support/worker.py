"""A real `celery -A project worker` subprocess for tests, started and stopped by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from project.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parents[2]
LOG_DIR = Path(settings.MEDIA_ROOT).parent / "logs"


def test_database_url() -> str:
    """A DATABASE_URL for the test database the test process is connected to."""
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
    """The environment of a subprocess that must see the same database and broker as the tests."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        VAR_DIR=str(Path(settings.MEDIA_ROOT).parent),
        DATABASE_URL=test_database_url(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


class CeleryWorker:
    """A prefork worker in its own process group, so that a kill reaches its pool children too."""

    def __init__(self, *, concurrency: int = 2, queues: str | None = None, **env: str) -> None:
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.concurrency = concurrency
        self.queues = queues
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{self.name.split('@')[0]}.log"

    @property
    def hostname(self) -> str:
        return self.name.replace("%h", os.uname().nodename)

    def start(self, timeout: float = 60) -> CeleryWorker:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "project",
            "worker",
            "--pool=prefork",
            f"--concurrency={self.concurrency}",
            "--loglevel=INFO",
            f"--hostname={self.name}",
            "--without-gossip",
            "--without-mingle",
        ]
        if self.queues:
            command.append(f"--queues={self.queues}")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=worker_env(**self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log()}")
            if celery_app.control.ping(destination=[self.hostname], timeout=0.5):
                return
        self.stop()
        raise TimeoutError(f"worker did not answer a ping in {timeout}s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a crash or an OOM kill would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 20) -> None:
        """Warm shutdown: SIGTERM to the main process only, as systemd's KillMode=mixed does (a
        TERM to the pool children too makes the main process hang on the filesystem broker);
        SIGKILL the group if it has not exited within `timeout`."""
        if not self.process or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        else:
            self.kill_strays()

    def kill_strays(self) -> None:
        """Pool children left behind by a main process that exited."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]
