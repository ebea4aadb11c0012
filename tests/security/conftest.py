"""Real processes for the security tests: gunicorn (the production server) with an environment of
the test's choosing, started on a free port and stopped by its pid."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]
DB_PASSWORD = "S3cr3t-DB-pw"
BROKER_PASSWORD = "S3cr3t-broker-pw"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Debug off and every secret real, as docker compose runs the app; nothing is reachable
    (no request in these tests needs the database or the broker)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "CELERY_", "EMAIL_", "HEALTH_", "API_DOCS_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1",
        DATABASE_URL=f"postgres://app:{DB_PASSWORD}@127.0.0.1:1/app",
        CELERY_BROKER_URL=f"redis://:{BROKER_PASSWORD}@127.0.0.1:1/1",
        SINGLE_PROCESS="true",  # one gunicorn worker; compose gives every process CACHE_URL
        VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def run_manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def gunicorn(tmp_path) -> Iterator[Callable[..., str]]:
    """`gunicorn(DJANGO_DEBUG="true", ...)` -> base URL of a running `gunicorn project.wsgi`
    (with tests.security.served_settings)."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(**overrides: str) -> str:
        port = free_port()
        log = (tmp_path / f"gunicorn-{port}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "project.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT, env=production_env(
                tmp_path, DJANGO_SETTINGS_MODULE="tests.security.served_settings", **overrides
            ),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        processes.append(process)

        def listening() -> bool:
            assert process.poll() is None, (tmp_path / f"gunicorn-{port}.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                return False
            return True

        wait_for(listening, timeout=30, what="gunicorn listening")
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
