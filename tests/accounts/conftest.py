"""Personas as fixtures, API clients that log in as them, and an in-memory task queue."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import User
from tasks_app.queue.memory import InMemoryTaskQueue
from tests.factories import PERSONAS, open_session


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """The login-failure throttle counts in the cache; every test starts from zero. (Tests run
    on the per-process memory cache: never point CACHE_URL at a Redis that holds anything.)"""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client_for(db) -> Callable[[User], APIClient]:
    """An API client sending a real bearer token of `user` (a fresh AuthSession row)."""

    def make(user: User) -> APIClient:
        _session, token = open_session(user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


@pytest.fixture
def persona_client(db, client_for) -> Callable[[str], tuple[APIClient, User | None]]:
    """`persona_client("admin")` -> (client, user); "outsider" gives an anonymous client."""

    def make(name: str) -> tuple[APIClient, User | None]:
        if name == "outsider":
            return APIClient(), None
        user = PERSONAS[name]()
        return client_for(user), user

    return make


@pytest.fixture
def task_queue(monkeypatch) -> InMemoryTaskQueue:
    """Every service call in the test enqueues into this in-memory queue instead of Celery."""
    queue = InMemoryTaskQueue()
    monkeypatch.setattr("accounts.services.get_task_queue", lambda: queue)
    return queue
