"""Flower, as the Procfile starts it, refuses to run without basic auth and asks for it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import processes
from tests.support.flower import http_status, procfile_flower, start_flower
from tests.support.polling import wait_for
from tests.support.ports import free_port
from tests.support.worker import BASE_DIR, worker_env

pytestmark = pytest.mark.django_db


def test_flower_refuses_to_start_without_basic_auth():
    env = worker_env()
    env.pop("FLOWER_BASIC_AUTH", None)

    done = subprocess.run(
        procfile_flower(free_port()), cwd=BASE_DIR, env=env, capture_output=True, timeout=60
    )

    assert done.returncode != 0
    assert b"FLOWER_BASIC_AUTH must be set" in done.stderr


def test_flower_requires_the_password(tmp_path: Path):
    port = free_port()
    process = start_flower(
        port, env=worker_env(FLOWER_BASIC_AUTH="ops:s3cret-pass1"), log_path=tmp_path / "flower.log"
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        assert wait_for(lambda: http_status(url), timeout=30, what="flower listening") == 401
        assert http_status(url, "ops:wrong") == 401
        assert http_status(url, "ops:s3cret-pass1") == 200
    finally:
        processes.stop(process, timeout=15)
