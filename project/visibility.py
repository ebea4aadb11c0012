"""Redis's visibility timeout against the longest time a message stays unacknowledged.

On Redis, a message a worker has taken but not acknowledged goes back to the queue once
`visibility_timeout` passes, and another worker runs it too. A worker holds a countdown/ETA message
unacknowledged until its ETA, then until a pool process is free (behind, at worst, the longest
running task), so the timeout must exceed countdown + longest task + a margin. RabbitMQ and the
filesystem broker have no such timeout. The budgets below are what the code may schedule;
tests/project/test_visibility.py reads the code and fails when it outgrows them.
https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

# The longest countdown the code schedules itself: the email retry back-off cap
# (tasks_app.services.emails.policy.RETRY_BACKOFF_MAX); the lease wait of a busy email is shorter.
LONGEST_RETRY_COUNTDOWN = 600
# The longest hard time limit on a task decorator (tasks_app.cleanup_sessions); the report export's
# limit comes from REPORT_TIME_LIMIT.
LONGEST_TASK_TIME_LIMIT = 900
# Kombu restores unacknowledged messages on a sweep every few seconds, and clocks drift.
MARGIN = 60
REDIS_SCHEMES = ("redis://", "rediss://")


class EtaBeyondVisibilityTimeout(ValueError):
    """An ETA so far ahead that Redis would deliver the message a second time before it runs."""


def longest_hold(*, report_time_limit: float) -> float:
    """Seconds a reserved message may wait for a free pool process: the longest task ahead of it."""
    return max(LONGEST_TASK_TIME_LIMIT, report_time_limit)


def required_visibility_timeout(*, report_time_limit: float) -> float:
    return LONGEST_RETRY_COUNTDOWN + longest_hold(report_time_limit=report_time_limit) + MARGIN


def visibility_timeout_problem(
    *, broker_url: str, visibility_timeout: float, report_time_limit: float
) -> str | None:
    """One configuration line when the timeout is too short for what the code schedules."""
    if not broker_url.startswith(REDIS_SCHEMES):
        return None
    required = required_visibility_timeout(report_time_limit=report_time_limit)
    if visibility_timeout >= required:
        return None
    hold = longest_hold(report_time_limit=report_time_limit)
    return (
        f"CELERY_BROKER_VISIBILITY_TIMEOUT: {visibility_timeout:g} s is shorter than a Redis "
        f"message can wait unacknowledged ({LONGEST_RETRY_COUNTDOWN} s retry countdown + "
        f"{hold:g} s task ahead of it + {MARGIN} s); set it to at least {required:g}"
    )


def longest_safe_delay() -> float | None:
    """Seconds ahead an ETA may be on the configured broker; None when the broker has no limit."""
    from django.conf import settings

    if not settings.CELERY_BROKER_URL.startswith(REDIS_SCHEMES):
        return None
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    return timeout - longest_hold(report_time_limit=settings.REPORT_TIME_LIMIT) - MARGIN


def check_eta(eta: datetime, *, now: datetime | None = None) -> None:
    """Refuse an ETA that Redis would redeliver before it is due (call before publishing)."""
    limit = longest_safe_delay()
    if limit is None:
        return
    delay = (eta - (now or timezone.now())).total_seconds()
    if delay > limit:
        raise EtaBeyondVisibilityTimeout(
            f"ETA {eta.isoformat()} is {delay:.0f} s ahead; on Redis the limit is {limit:.0f} s "
            "(CELERY_BROKER_VISIBILITY_TIMEOUT less the longest task and a margin)"
        )
