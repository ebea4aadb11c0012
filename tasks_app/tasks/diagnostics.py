"""Tasks that check the pipeline itself."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="tasks_app.ping", bind=True, time_limit=10)
def ping(self) -> dict[str, str]:
    """Answer from a worker: proves the broker, a worker and the result backend work together."""
    return {"status": "pong", "worker": self.request.hostname}
