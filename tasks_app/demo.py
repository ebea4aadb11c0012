"""Demo data for `manage.py seed_demo`: a week of task history (successes, retries, failures),
the email log behind its emails, a few real reports, on top of the demo users (accounts.demo).

Everything is written as finished: no demo row is left queued or unpublished, so neither a worker
nor the outbox relay ever acts on one (no demo email is sent, no demo task runs).
"""

from __future__ import annotations

import datetime
import json
import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from celery import states
from django.db import models, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from accounts.demo import demo_users_create
from accounts.emails import WELCOME_SUBJECT
from accounts.models import User
from tasks_app.models import EmailLog, TaskAttempt, TaskRecord, Trigger, UserReport
from tasks_app.services.reports.export import report_generate
from tasks_app.services.reports.requests import report_create, report_fail

WEEK = datetime.timedelta(days=7)
EMAIL_TASK = "tasks_app.send_email"
REPORT_TASK = "tasks_app.generate_user_report"
# The hourly schedules' runs over the week: (schedule name, task name, result of a run).
HOURLY = (
    ("cleanup-expired-sessions", "tasks_app.cleanup_sessions", "deleted_sessions"),
    ("expire-task-history", "tasks_app.expire_task_history", "deleted"),
)
# An email's fate: sent at once, sent after a transient failure, or refused for good.
EMAIL_FATES = (("sent", 90), ("retried", 6), ("failed", 4))
TRANSIENT = "SMTPDataError: (451, b'4.3.0 Temporary local problem, try again later')"
PERMANENT = "EmailFailed: (554, b'5.7.1 Message rejected as spam')"
STATEMENT_TIMEOUT = "OperationalError: canceling statement due to statement timeout"
REPORT_TIMEOUT = (
    "Stopped by the time limit: the export ran longer than 300 s and its partial file was deleted."
)


def _report_filters(now: datetime.datetime) -> list[tuple[dict, bool]]:
    """(filters, completed) of the demo's reports."""
    recent = (now - datetime.timedelta(days=90)).date().isoformat()
    return [
        ({}, True),
        ({"is_active": "true"}, True),
        ({"role": "ADMIN"}, True),
        ({"is_active": "false", "created_after": recent}, True),
        ({"is_active": "true"}, False),
    ]


class NotEmpty(Exception):
    """The database already has data that the demo would mix with."""


@dataclass
class DemoSummary:
    users: int = 0
    sessions: int = 0
    tasks: int = 0
    attempts: int = 0
    emails: int = 0
    reports: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def demo_database_is_empty() -> bool:
    """No users but staff, no report. The first super admin's welcome email and beat's
    housekeeping runs, there as soon as `make run` has started, do not count."""
    return not (User.objects.filter(is_staff=False).exists() or UserReport.objects.exists())


def demo_seed(
    *,
    users: int,
    tasks: int,
    seed: int = 0,
    force: bool = False,
    now: datetime.datetime | None = None,
    on_users: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Fill the database with `users` demo users and their sessions, about `tasks` tasks of
    history over the last week and five reports. Refuses a database that has data unless
    `force` (the demo is then added to it)."""
    if not force and not demo_database_is_empty():
        raise NotEmpty("the database already has users (besides staff) or reports")
    rng = random.Random(seed)
    now = now or timezone.now()
    summary = DemoSummary(users=users)
    summary.sessions = demo_users_create(count=users, rng=rng, now=now, on_batch=on_users)
    history = _History()
    _emails(history, rng=rng, count=max(0, tasks - 2 * 24 * 7), now=now)
    _hourly_runs(history, rng=rng, now=now)
    history.save()
    report_tasks = _reports(rng=rng, now=now)
    tasks_added = [*history.results, *report_tasks]
    summary.emails = len(history.emails)
    summary.reports = len(report_tasks)
    summary.tasks = len(tasks_added)
    summary.attempts = len(history.attempts) + len(report_tasks)  # one each
    for task in tasks_added:
        summary.by_status[task.status] = summary.by_status.get(task.status, 0) + 1
    return summary


@dataclass
class Attempt:
    outcome: str  # tasks_app.models.ledger.Outcome
    runtime: float
    error: str = ""
    wait: float = 0.05


def demo_task(
    *,
    task_name: str,
    queue: str,
    trigger: str,
    trigger_label: str,
    queued_at: datetime.datetime,
    attempts: list[Attempt],
    kwargs: dict | None = None,
    result: object = None,
    schedule: str | None = None,
    task_id: str | None = None,
) -> tuple[TaskResult, TaskRecord, list[TaskAttempt]]:
    """One finished task as the ledger and django-celery-results would have written it: its
    history row, its ledger record and one attempt per run, the next run starting when the
    previous one ended (plus its wait). The task failed if its last attempt did."""
    task_id = task_id or str(uuid.uuid4())
    rows, moment = [], queued_at
    for number, attempt in enumerate(attempts, start=1):
        started = moment + datetime.timedelta(seconds=attempt.wait)
        moment = started + datetime.timedelta(seconds=attempt.runtime)
        rows.append(
            TaskAttempt(
                task_id=task_id,
                task_name=task_name,
                number=number,
                worker=f"celery@worker-{queue}-1",
                received_at=started,
                started_at=started,
                finished_at=moment,
                wait_seconds=attempt.wait,
                runtime_seconds=attempt.runtime,
                outcome=attempt.outcome,
                error=attempt.error,
            )
        )
    failed = attempts[-1].outcome == "failure"
    error_type, _, message = attempts[-1].error.partition(": ")
    history = TaskResult(
        task_id=task_id,
        task_name=task_name,
        task_args="[]",
        task_kwargs=json.dumps(kwargs or {}),
        status=states.FAILURE if failed else states.SUCCESS,
        worker=rows[-1].worker,
        content_type="application/json",
        content_encoding="utf-8",
        result=json.dumps(
            {"exc_type": error_type, "exc_message": [message], "exc_module": "builtins"}
            if failed
            else result
        ),
        traceback=f"Traceback (most recent call last):\n  ...\n{attempts[-1].error}\n"
        if failed
        else None,
        periodic_task_name=schedule,
        date_created=queued_at,
        date_started=rows[0].started_at,
        date_done=moment,
    )
    record = TaskRecord(
        result=history,
        task_name=task_name,
        task_args=history.task_args,
        task_kwargs=history.task_kwargs,
        schedule=schedule or "",
        queue=queue,
        trigger=trigger,
        trigger_label=trigger_label,
        created_at=queued_at,
        published_at=queued_at,
        options={"headers": {"periodic_task_name": schedule}} if schedule else {},
    )
    return history, record, rows


class _History:
    """Rows collected in memory, written with one bulk insert per table."""

    def __init__(self) -> None:
        self.results: list[TaskResult] = []
        self.records: list[TaskRecord] = []
        self.attempts: list[TaskAttempt] = []
        self.emails: list[tuple[EmailLog, TaskResult]] = []  # an email and its send_email task

    def add(self, task: tuple[TaskResult, TaskRecord, list[TaskAttempt]]) -> TaskResult:
        history, record, attempts = task
        self.results.append(history)
        self.records.append(record)
        self.attempts.extend(attempts)
        return history

    def save(self) -> None:
        with transaction.atomic(), _dates_as_given(TaskResult, EmailLog):
            # The emails first: their ids (from the database) are their tasks' arguments.
            EmailLog.objects.bulk_create([email for email, _task in self.emails], batch_size=2000)
            for email, task in self.emails:
                task.task_kwargs = json.dumps({"email_log_id": email.pk})
            TaskResult.objects.bulk_create(self.results, batch_size=2000)
            TaskRecord.objects.bulk_create(self.records, batch_size=2000)
            TaskAttempt.objects.bulk_create(self.attempts, batch_size=2000)


@contextmanager
def _dates_as_given(*model_classes: type[models.Model]) -> Iterator[None]:
    """Demo rows carry their own past dates; auto_now(_add) would set them all to now."""
    fields = [
        f
        for model in model_classes
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _busy_moment(rng: random.Random, now: datetime.datetime) -> datetime.datetime:
    """A moment of the last week, three times likelier by day (08-20 UTC) than by night."""
    while True:
        moment = now - WEEK * rng.random()
        if 8 <= moment.hour < 20 or rng.random() < 1 / 3:
            return moment


def _emails(history: _History, *, rng: random.Random, count: int, now: datetime.datetime) -> None:
    """Welcome emails to the newest active users (a test email to a made-up address once they
    run out), each with its send_email task: sent, sent after a retry, or failed."""
    welcomed = set(
        EmailLog.objects.filter(idempotency_key__startswith="welcome:").values_list(
            "idempotency_key", flat=True
        )
    )  # the first super admin's, with --force the earlier demo's: one welcome email per user
    newest = User.objects.filter(is_active=True).order_by("-created_at")
    recipients = [
        row
        for row in newest.values_list("pk", "username", "email")[: count + len(welcomed)]
        if f"welcome:{row[0]}" not in welcomed
    ][:count]
    fates, weights = zip(*EMAIL_FATES, strict=True)
    for number in range(count):
        queued_at = _busy_moment(rng, now)
        fate = rng.choices(fates, weights)[0]
        runtime = rng.lognormvariate(-1.5, 0.5)
        attempts = {
            "sent": [Attempt("success", runtime)],
            "retried": [Attempt("retry", runtime, TRANSIENT), Attempt("success", runtime, wait=2)],
            "failed": [Attempt("failure", runtime, PERMANENT)],
        }[fate]
        email = _email(rng, recipients[number] if number < len(recipients) else None, number)
        task = history.add(
            demo_task(
                task_name=EMAIL_TASK,
                queue="emails",
                trigger=Trigger.SERVICE,
                trigger_label="welcome email" if email.idempotency_key else "send_test_email",
                queued_at=queued_at,
                attempts=attempts,
            )
        )
        email.task_id = task.task_id
        email.status = EmailLog.Status.FAILED if fate == "failed" else EmailLog.Status.SENT
        email.attempts = len(attempts)
        email.last_error = attempts[-1].error if fate == "failed" else ""
        email.created_at = queued_at
        email.sent_at = task.date_done if fate != "failed" else None
        email.updated_at = task.date_done
        history.emails.append((email, task))


def _email(rng: random.Random, recipient: tuple | None, number: int) -> EmailLog:
    if recipient is None:
        return EmailLog(
            recipient=f"test{number}@example.com",
            subject="Test email",
            body_text="A test email sent with manage.py send_test_email.",
        )
    user_id, username, address = recipient
    context = {"username": username}
    return EmailLog(
        recipient=address,
        subject=WELCOME_SUBJECT,
        body_text=render_to_string("accounts/emails/welcome.txt", context),
        body_html=render_to_string("accounts/emails/welcome.html", context),
        idempotency_key=f"welcome:{user_id}",
    )


def _hourly_runs(history: _History, *, rng: random.Random, now: datetime.datetime) -> None:
    """Every hour of the week, each hourly schedule's run (the last one at the top of this
    hour); one run in fifty failed."""
    last = now.replace(minute=0, second=0, microsecond=0)
    for schedule, _task_name, _counted in HOURLY:  # as beat leaves them: not due before the hour
        PeriodicTask.objects.filter(name=schedule).update(last_run_at=last, total_run_count=24 * 7)
    for hour in range(24 * 7):
        for schedule, task_name, counted in HOURLY:
            runtime = rng.uniform(0.02, 1.5)
            if rng.random() < 0.02:
                attempt = Attempt("failure", runtime, STATEMENT_TIMEOUT)
            else:
                attempt = Attempt("success", runtime)
            history.add(
                demo_task(
                    task_name=task_name,
                    queue="default",
                    trigger=Trigger.SCHEDULE,
                    trigger_label=schedule,
                    queued_at=last - datetime.timedelta(hours=hour, seconds=-rng.random()),
                    attempts=[attempt],
                    result={"status": "completed", counted: rng.randint(0, 40)},
                    schedule=schedule,
                )
            )


def _reports(*, rng: random.Random, now: datetime.datetime) -> list[TaskResult]:
    """Real reports of the demo users (their files in storage), requested by a staff account
    over the last week, with their tasks in the history; the last one failed."""
    requester = User.objects.filter(is_staff=True).order_by("created_at").first()
    history = _History()
    for filters, completed in _report_filters(now):
        report = report_create(requested_by=requester, filters=filters)
        queued_at = _busy_moment(rng, now)
        if completed:
            summary = report_generate(report_id=report.pk)
            attempt = Attempt("success", rng.uniform(0.2, 3))
        else:
            summary = None
            report_fail(report_id=report.pk, error=REPORT_TIMEOUT)
            attempt = Attempt("failure", 300, "SoftTimeLimitExceeded: " + REPORT_TIMEOUT)
        task = history.add(
            demo_task(
                task_name=REPORT_TASK,
                queue="reports",
                trigger=Trigger.ADMIN,
                trigger_label="Generate CSV report",
                queued_at=queued_at,
                attempts=[attempt],
                kwargs={"report_id": str(report.pk)},
                result=summary,
            )
        )
        history.records[-1].triggered_by = requester
        UserReport.objects.filter(pk=report.pk).update(
            task_id=task.task_id,
            created_at=queued_at,
            started_at=task.date_started,
            finished_at=task.date_done,
        )
    history.save()
    return history.results
