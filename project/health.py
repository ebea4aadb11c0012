"""`GET /api/health/`: the database, the broker and the workers, as JSON; 503 names what is down.

Built on django-health-check's checks and view; only the JSON shape and the status code are ours.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime

from django.http import JsonResponse
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.contrib.celery import Ping
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from project.celery import app as celery_app


@dataclasses.dataclass
class Broker(HealthCheck):
    """Open (and close) a connection to the Celery broker."""

    timeout = datetime.timedelta(seconds=3)

    def run(self) -> None:
        try:
            with celery_app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=2)
        except Exception as exc:  # any failure to connect means the broker is down
            raise ServiceUnavailable(f"cannot connect: {type(exc).__name__}") from exc


@dataclasses.dataclass
class Workers(Ping):
    """At least one worker answers a ping within a second."""

    def run(self) -> None:
        try:
            super().run()
        except ServiceUnavailable:
            raise
        except Exception as exc:  # a broker that is down fails the ping too
            raise ServiceUnavailable(f"no answer: {type(exc).__name__}") from exc


@dataclasses.dataclass
class Beat(HealthCheck):
    """Beat's last tick, from its heartbeat in the database: down when older than
    BEAT_DOWN_AFTER_SECONDS, or when two beats tick at once."""

    timeout = datetime.timedelta(seconds=3)
    detail: dict | None = dataclasses.field(default=None, repr=False)

    def run(self) -> None:
        from tasks_app.selectors.beat import beat_status

        status = beat_status()
        self.detail = status.as_dict()
        if status.problem:
            raise ServiceUnavailable(status.problem)


class HealthView(HealthCheckView):
    checks = (
        ("database", Database),
        ("broker", Broker),
        ("workers", Workers),
        ("beat", Beat),
    )

    def get_checks(self):
        for _name, check in self.checks:
            yield check()

    async def get(self, request, *args, **kwargs):
        with self.get_executor() as executor:
            self.results = await asyncio.gather(
                *(check.get_result(executor) for check in self.get_checks())
            )
        checks = {
            name: {
                "status": "down" if result.error else "up",
                "error": str(result.error) if result.error else None,
                "seconds": round(result.time_taken, 3),
                **(
                    {"detail": result.check.detail} if getattr(result.check, "detail", None) else {}
                ),
            }
            for (name, _check), result in zip(self.checks, self.results, strict=True)
        }
        down = [name for name, check in checks.items() if check["status"] == "down"]
        body = {"status": "down" if down else "up", "down": down, "checks": checks}
        return JsonResponse(body, status=503 if down else 200)
