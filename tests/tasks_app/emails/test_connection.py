"""One SMTP connection per worker process: a real worker with one pool process, a real aiosmtpd
that tells connections apart (tests/tasks_app/emails/conftest.py's `RecordingHandler`)."""

from __future__ import annotations

import json
import uuid

import pytest
from django_celery_results.models import TaskResult

from tasks_app.models import EmailLog
from tasks_app.services.emails.queueing import email_queue
from tests.support.polling import wait_for
from tests.support.smtp import SmtpServer
from tests.support.worker import private_queue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def email_worker_concurrency() -> int:
    return 1  # one process: every email of the module goes through the same one


def sent(log: EmailLog, status: str = EmailLog.Status.SENT) -> EmailLog:
    return wait_for(
        lambda: EmailLog.objects.filter(pk=log.pk, status=status).first(),
        what=f"email {log.pk} to be {status}",
    )


def queue(address: str) -> EmailLog:
    return email_queue(to=address, subject="Hi", body_html="<p>hi</p>")


@pytest.mark.usefixtures("email_worker", "to_email_worker")
def test_emails_through_one_worker_process_share_one_connection(smtp: SmtpServer):
    addresses = [f"many-{i}@example.com" for i in range(20)]

    logs = [sent(log) for log in [queue(address) for address in addresses]]

    assert smtp.handler.connections(*addresses) == 1
    assert all(log.attempts == 1 for log in logs)
    assert all(len(smtp.handler.to(address)) == 1 for address in addresses)
    # The outcome is in the row; the task's result does not repeat it.
    results = TaskResult.objects.filter(task_id__in=[log.task_id for log in logs])
    assert {r.status for r in results} == {"SUCCESS"}
    assert {json.loads(r.result) for r in results} == {None}


@pytest.mark.parametrize("how", ["drop", "drop421"])
@pytest.mark.usefixtures("email_worker", "to_email_worker")
def test_a_connection_the_server_dropped_is_reopened_without_costing_an_attempt(smtp, how):
    sent(queue(f"{how}-1@example.com"))
    wait_for(lambda: f"{how}-1@example.com" in smtp.handler.dropped, what="the server to hang up")

    after = sent(queue(f"after-{how}-1@example.com"))

    assert after.attempts == 1 and after.last_error == ""
    assert smtp.handler.connections(f"{how}-1@example.com", f"after-{how}-1@example.com") == 2
    assert len(smtp.handler.to(f"after-{how}-1@example.com")) == 1


@pytest.mark.usefixtures("email_worker", "to_email_worker")
def test_a_permanent_failure_is_recorded_once_and_the_next_email_still_goes(smtp):
    failed = sent(queue("bounce-9@example.com"), EmailLog.Status.FAILED)
    following = sent(queue("after-bounce-9@example.com"))

    assert failed.attempts == 1 and smtp.handler.data_attempts["bounce-9@example.com"] == 1
    assert failed.last_error.startswith("permanent failure: SMTPDataError (SMTP 554)")
    result = wait_for(
        lambda: TaskResult.objects.filter(task_id=failed.task_id, status="FAILURE").first(),
        what="the failed send_email in the task history",
    )
    assert "EmailFailed" in result.result
    assert following.attempts == 1 and len(smtp.handler.to("after-bounce-9@example.com")) == 1


def test_the_connection_is_closed_with_quit_when_the_worker_stops(
    smtp: SmtpServer, start_worker, settings
):
    route = private_queue(settings, "emails", name := f"emails-quit-{uuid.uuid4().hex[:8]}")
    worker = start_worker(concurrency=1, queues=name, **smtp.worker_env(**route))
    addresses = [f"quit-{i}@example.com" for i in range(3)]
    for log in [queue(address) for address in addresses]:
        sent(log)
    assert smtp.handler.connections(*addresses) == 1

    worker.stop()

    session = smtp.handler.session_of[addresses[0]]
    wait_for(
        lambda: any(s is session for s in smtp.handler.quit_sessions),
        timeout=10,
        what="QUIT on the worker's connection",
    )
