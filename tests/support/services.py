"""Outside services the tests need: skip (or, in CI, fail) with a reason that names them."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest
from django.conf import settings


def unavailable(message: str) -> None:
    """Skip a test whose outside service or program is missing; in CI, where everything must
    run, fail it instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI runs every test, so it must be there")
    pytest.skip(message)


def require(name: str, url: str) -> None:
    """The service at `url` must accept connections."""
    parts = urlsplit(url)
    try:
        address = (parts.hostname or "127.0.0.1", parts.port or 0)
        socket.create_connection(address, timeout=1).close()
    except OSError as exc:
        unavailable(f"{name} is not reachable at {parts.hostname}:{parts.port} ({exc})")


def redis_url() -> str:
    """The broker's Redis when the tests run on Redis, else a spare database of the local one."""
    broker = settings.CELERY_BROKER_URL
    if broker.startswith(("redis://", "rediss://")):
        return broker
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
