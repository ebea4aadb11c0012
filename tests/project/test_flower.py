"""Flower, as the Procfile starts it, refuses to run without basic auth and asks for it."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path

import pytest

from tests.support.polling import wait_for
from tests.support.worker import BASE_DIR, worker_env

pytestmark = pytest.mark.django_db


def _procfile_flower(port: int) -> list[str]:
    line = next(
        line
        for line in (BASE_DIR / "Procfile").read_text().splitlines()
        if line.startswith("flower:")
    )
    command = shlex.split(line.partition(":")[2])
    assert command[:3] == ["celery", "-A", "project"]
    return [
        sys.executable,
        "-m",
        "celery",
        *command[1:3],
        *[a for a in command[3:] if not a.startswith("--port")],
        f"--port={port}",
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status(url: str, auth: str | None = None) -> int | None:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def test_flower_refuses_to_start_without_basic_auth():
    env = worker_env()
    env.pop("FLOWER_BASIC_AUTH", None)

    done = subprocess.run(
        _procfile_flower(_free_port()), cwd=BASE_DIR, env=env, capture_output=True, timeout=60
    )

    assert done.returncode != 0
    assert b"FLOWER_BASIC_AUTH must be set" in done.stderr


def test_flower_requires_the_password(tmp_path: Path):
    port = _free_port()
    log = (tmp_path / "flower.log").open("wb")
    process = subprocess.Popen(
        _procfile_flower(port), cwd=BASE_DIR, env=worker_env(FLOWER_BASIC_AUTH="ops:s3cret-pass1"),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/"
        assert wait_for(lambda: _status(url), timeout=30, what="flower listening") == 401
        assert _status(url, "ops:wrong") == 401
        assert _status(url, "ops:s3cret-pass1") == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
