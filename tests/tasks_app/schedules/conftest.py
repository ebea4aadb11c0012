"""Fixtures of the schedule tests."""

from __future__ import annotations

import json
import uuid

import pytest
from django_celery_beat.models import PeriodicTask

from tests.support.broker import drop_queue

NAME = "cleanup-expired-sessions"


@pytest.fixture
def routed_cleanup(db):
    """The cleanup schedule, sent to a queue of its own that no worker consumes (a test may start
    one on it), with a priority, an expiry and a header of its own."""
    queue = f"runnow-{uuid.uuid4().hex[:8]}"
    schedule = PeriodicTask.objects.get(name=NAME)
    schedule.queue = queue
    schedule.priority = 7
    schedule.expire_seconds = 120
    schedule.headers = json.dumps({"origin": "ops"})
    schedule.save()
    yield schedule
    drop_queue(queue)
