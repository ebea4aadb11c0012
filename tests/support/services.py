"""Outside services the tests need: skip (or, in CI, fail) with a reason that names them."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest
from django.conf import settings


def require(name: str, url: str) -> None:
    """Skip the test when the service at `url` does not accept connections; in CI, fail it."""
    parts = urlsplit(url)
    try:
        socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 0), timeout=1
        ).close()
    except OSError as exc:
        message = f"{name} is not reachable at {parts.hostname}:{parts.port} ({exc})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI runs every test, so the service must be up")
        pytest.skip(message)


def redis_url() -> str:
    """The broker's Redis when the tests run on Redis, else a spare database of the local one."""
    broker = settings.CELERY_BROKER_URL
    if broker.startswith(("redis://", "rediss://")):
        return broker
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
