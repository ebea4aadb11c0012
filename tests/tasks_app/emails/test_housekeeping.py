"""The stale sweep: rows still queued whose message the broker lost get a new one, and only they."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks_app.models import EmailLog
from tasks_app.queue.memory import InMemoryTaskQueue
from tasks_app.services.emails.housekeeping import emails_requeue_stale

pytestmark = pytest.mark.django_db


def row(**overrides) -> EmailLog:
    return EmailLog.objects.create(
        recipient="ada@example.com", subject="Hi", body_html="<p>Hi</p>", **overrides
    )


def test_stale_queued_emails_are_requeued_and_nothing_else(django_capture_on_commit_callbacks):
    queue = InMemoryTaskQueue()
    old = timezone.now() - timedelta(hours=1)
    stale = row()
    busy = row(claimed_until=timezone.now() + timedelta(seconds=30))
    done = row(status=EmailLog.Status.SENT)
    fresh = row()
    EmailLog.objects.exclude(pk=fresh.pk).update(updated_at=old)

    with django_capture_on_commit_callbacks(execute=True):
        count = emails_requeue_stale(older_than=timedelta(minutes=15), task_queue=queue)

    assert count == 1 and [t.kwargs for t in queue.published] == [{"email_log_id": stale.pk}]
    assert queue.published[0].name == "tasks_app.send_email"
    assert EmailLog.objects.get(pk=stale.pk).task_id == queue.published[0].task_id
    assert {busy.pk, done.pk, fresh.pk}.isdisjoint(
        {t.kwargs["email_log_id"] for t in queue.published}
    )
