"""`GET /api/health/`: database, broker (with its queue lengths), workers, beat and the schedules'
missed runs as JSON; 503 when any is down. A missed run makes the status "degraded", still 200:
the service works, an operator should look.

Built on django-health-check's checks and view; only the JSON shape and the status code are ours.
Anyone gets the overall status (what compose's and an orchestrator's probes need); staff (session
or bearer token) and callers sending `X-Health-Token: <HEALTH_TOKEN>` also get what is down and why.
The report is kept in the cache for HEALTH_CACHE_SECONDS: a worker ping takes up to a second, and
a loop of anonymous calls must not keep every web process pinging.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import hmac

from asgiref.sync import sync_to_async
from celery import Celery
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, JsonResponse
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.contrib.celery import Ping
from health_check.exceptions import ServiceUnavailable, ServiceWarning
from health_check.views import HealthCheckView

from project.celery import app as project_celery_app


def ensure_broker(app: Celery, timeout: float = 1.5) -> None:
    """Open (and close) one connection to the broker, without kombu's long retry loop: one
    retry after half a second (a restart's blip), so a request answers within 2 s."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0.5, timeout=timeout)
    except Exception as exc:  # whatever the transport raises, the broker is unreachable
        raise ServiceUnavailable(f"cannot connect: {type(exc).__name__}") from exc


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection; its detail is the messages waiting per queue (a
    queue that only grows is the first sign of too few workers)."""

    app: Celery = dataclasses.field(default=project_celery_app, repr=False)
    timeout = datetime.timedelta(seconds=3)
    detail: dict | None = dataclasses.field(default=None, repr=False)

    def run(self) -> None:
        from tasks_app.selectors.broker import monitored_queues, queue_lengths

        ensure_broker(self.app)
        try:
            self.detail = {"queues": queue_lengths(monitored_queues(), app=self.app)}
        finally:
            connections.close_all()  # this executor thread's own (the schedules' queues)


@dataclasses.dataclass
class Workers(Ping):
    """At least one worker answers a ping within a second and consumes the default queue."""

    def run(self) -> None:
        ensure_broker(self.app)  # fail fast: a ping through a dead broker retries for seconds
        try:
            super().run()
        except ServiceUnavailable:
            raise
        except Exception as exc:  # the broker went away between the two calls
            raise ServiceUnavailable(f"no answer: {type(exc).__name__}") from exc


@dataclasses.dataclass
class Beat(HealthCheck):
    """Beat's last tick, from its heartbeat in the database: down when older than
    BEAT_DOWN_AFTER_SECONDS, or when no ticking beat holds the lease (beats on standby are fine)."""

    timeout = datetime.timedelta(seconds=3)
    detail: dict | None = dataclasses.field(default=None, repr=False)

    def run(self) -> None:
        from tasks_app.selectors.beat import beat_status

        try:
            status = beat_status()
        finally:
            connections.close_all()  # the executor thread's connection, not left for GC
        # How many beats tick, not their host:pid (staff read those in the database if needed).
        self.detail = {
            **status.as_dict(),
            "running": len(status.running),
            "standby": len(status.standby),
        }
        if status.problem:
            raise ServiceUnavailable(status.problem)


@dataclasses.dataclass
class Schedules(HealthCheck):
    """Every enabled schedule ran when it was due (tasks_app.selectors.schedules); a missed run
    is a warning: degraded, not down."""

    timeout = datetime.timedelta(seconds=3)
    detail: dict | None = dataclasses.field(default=None, repr=False)

    def run(self) -> None:
        from tasks_app.selectors.schedules import schedules_missed

        try:
            missed = schedules_missed()
        finally:
            connections.close_all()  # the executor thread's connection, not left for GC
        self.detail = {"missed": {name: due.isoformat() for name, due in missed.items()}}
        if missed:
            names = ", ".join(sorted(missed))
            raise ServiceWarning(f"{len(missed)} schedule(s) did not run when due: {names}")


def _status(error: Exception | None) -> str:
    if error is None:
        return "up"
    return "degraded" if isinstance(error, ServiceWarning) else "down"


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _is_staff_token(token: str) -> bool:
    from accounts.selectors import auth_session_get_active

    session = auth_session_get_active(token=token) if token else None
    return session is not None and session.user.is_staff


class HealthView(HealthCheckView):
    celery_app: Celery = project_celery_app
    cache_key = "project.health:report"

    def named_checks(self) -> dict[str, HealthCheck]:
        return {
            "database": Database(),
            "broker": Broker(app=self.celery_app),
            "workers": Workers(app=self.celery_app, timeout=datetime.timedelta(seconds=1)),
            "beat": Beat(),
            "schedules": Schedules(),
        }

    def get_checks(self):
        yield from self.named_checks().values()

    async def may_see_details(self, request: HttpRequest) -> bool:
        """Staff by session or bearer token, or the configured HEALTH_TOKEN."""
        health_token = request.headers.get("X-Health-Token", "")
        if settings.HEALTH_TOKEN and hmac.compare_digest(
            health_token.encode(), settings.HEALTH_TOKEN.encode()
        ):
            return True
        user = await request.auser()
        if user.is_staff:
            return True
        return await sync_to_async(_is_staff_token)(_bearer_token(request))

    async def report(self) -> dict:
        checks = self.named_checks()
        with self.get_executor() as executor:
            results = await asyncio.gather(
                *(check.get_result(executor) for check in checks.values())
            )
        report = {
            name: {
                "status": _status(result.error),
                "error": str(result.error) if result.error else None,
                "seconds": round(result.time_taken, 3),
                **(
                    {"detail": result.check.detail} if getattr(result.check, "detail", None) else {}
                ),
            }
            for name, result in zip(checks, results, strict=True)
        }
        down = [name for name, check in report.items() if check["status"] == "down"]
        degraded = [name for name, check in report.items() if check["status"] == "degraded"]
        status = "down" if down else "degraded" if degraded else "up"
        return {"status": status, "down": down, "degraded": degraded, "checks": report}

    async def get(self, request, *args, **kwargs):
        body = await cache.aget(self.cache_key)
        if body is None:
            body = await self.report()
            await cache.aset(self.cache_key, body, settings.HEALTH_CACHE_SECONDS)
        status = 503 if body["down"] else 200
        if not await self.may_see_details(request):
            body = {"status": body["status"]}
        return JsonResponse(body, status=status)
