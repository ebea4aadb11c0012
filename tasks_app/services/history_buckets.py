"""Counting the finished tasks of the history by quarter hour (`HistoryBucket`) for the charts.

A quarter is counted once it is settled (tasks_app.selectors.charts.settled_until), so the charts
count in the history only what came after the last counted quarter, and the first view after a
restart or a cache flush is as quick as any other. The quarters older than the longest chart's
window are deleted.
"""

from __future__ import annotations

import datetime

from celery import states
from django.utils import timezone

from tasks_app.models import HistoryBucket
from tasks_app.selectors.charts import QUARTER, WEEK, finished_tasks, settled_until


def history_buckets_count(*, now: datetime.datetime | None = None) -> int:
    """Count the quarters settled since the last counted one (the whole week the first time, or
    after beat stopped for longer), delete those older than a week; return how many were counted.

    One grouped query on the history. Two runs at once count the same quarters: the second
    insert of a quarter is ignored."""
    now = (now or timezone.now()).astimezone(datetime.UTC)
    oldest = settled_until(now) - WEEK
    last = (
        HistoryBucket.objects.filter(start__gte=oldest)
        .order_by("-start")
        .values_list("start", flat=True)
        .first()
    )
    start, until = (last + QUARTER if last else oldest), settled_until(now)
    counts = finished_tasks(start, until) if start < until else {}
    buckets = []
    while start < until:
        by_status = counts.get(start, {})
        buckets.append(
            HistoryBucket(
                start=start,
                succeeded=by_status.get(states.SUCCESS, 0),
                failed=by_status.get(states.FAILURE, 0),
                revoked=by_status.get(states.REVOKED, 0),
            )
        )
        start += QUARTER
    HistoryBucket.objects.bulk_create(buckets, ignore_conflicts=True)
    HistoryBucket.objects.filter(start__lt=oldest).delete()
    return len(buckets)
