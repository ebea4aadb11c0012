"""The outbox relay as a task, for a beat schedule (the `relay_outbox` command is the other way)."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task

from project.celery import app
from tasks_app.queue.outbox import outbox_relay


@shared_task(name="tasks_app.relay_outbox", time_limit=120)
def relay_outbox(batch_size: int = 500) -> dict:
    """Publish outbox rows whose publish after commit failed. It runs only when the broker is up,
    which is also the only time the rows can be published."""
    return asdict(outbox_relay(app, batch_size=batch_size))
