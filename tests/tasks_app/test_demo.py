"""`manage.py seed_demo` (tasks_app.demo, accounts.demo): demo data every admin page can show."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from celery import states
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_results.models import TaskResult

from accounts.models import AuthSession, Role, User
from tasks_app.models import EmailLog, TaskAttempt, TaskRecord, UserReport

# Committed: on Postgres a report is exported over a connection of its own.
pytestmark = pytest.mark.django_db(transaction=True)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def seeded(super_admin) -> str:
    """The demo on a database with only the first super admin, as `make run` leaves it."""
    return seed("--users", "400", "--tasks", "600")


def test_users_have_roles_states_and_ages_over_two_years(seeded):
    demo = User.objects.filter(email__endswith="@example.com", is_staff=False)
    assert User.objects.count() == 401
    assert set(User.objects.values_list("role", flat=True)) >= {Role.USER, Role.ADMIN}
    assert demo.filter(is_active=False).count() in range(20, 80)  # about one in ten
    oldest = User.objects.order_by("created_at").first().created_at
    assert timezone.now() - oldest > datetime.timedelta(days=600)
    assert not any(user.has_usable_password() for user in demo[:50])


def test_sessions_are_live_and_expired(seeded):
    now = timezone.now()
    assert AuthSession.objects.filter(expires_at__gt=now).exists()
    assert AuthSession.objects.filter(expires_at__lte=now).exists()
    assert not AuthSession.objects.filter(user__is_active=False).exists()


def test_history_has_successes_retries_and_failures_over_the_week(seeded):
    now = timezone.now()
    dates = TaskResult.objects.values_list("date_done", flat=True)
    assert min(dates) < now - datetime.timedelta(days=6)
    assert max(dates) <= now + datetime.timedelta(seconds=10)
    statuses = set(TaskResult.objects.values_list("status", flat=True))
    assert statuses == {states.SUCCESS, states.FAILURE}
    assert TaskAttempt.objects.filter(number=2, outcome="success").exists()
    assert TaskAttempt.objects.filter(outcome="retry").exists()
    assert TaskResult.objects.filter(periodic_task_name="cleanup-expired-sessions").count() == 168
    # Every task has its ledger record, published: the outbox relay has nothing to send.
    assert TaskRecord.objects.count() == TaskResult.objects.count()
    assert not TaskRecord.objects.filter(published_at__isnull=True).exists()


def test_emails_match_their_tasks(seeded):
    failed = EmailLog.objects.filter(status=EmailLog.Status.FAILED).first()
    assert failed is not None and failed.last_error
    assert TaskResult.objects.get(task_id=failed.task_id).status == states.FAILURE
    sent = EmailLog.objects.filter(status=EmailLog.Status.SENT).first()
    assert (
        TaskResult.objects.get(task_id=sent.task_id).task_kwargs == f'{{"email_log_id": {sent.pk}}}'
    )
    assert not EmailLog.objects.filter(status=EmailLog.Status.QUEUED).exists()


def test_reports_have_their_files_and_tasks(seeded):
    completed = UserReport.objects.filter(status=UserReport.Status.COMPLETED)
    assert completed.count() == 4
    everyone = completed.get(filters={})
    with everyone.file.open("rb") as file:
        assert len(file.read().splitlines()) == User.objects.count() + 1  # and the header
    assert UserReport.objects.filter(status=UserReport.Status.FAILED).count() == 1
    assert TaskResult.objects.filter(task_id__in=completed.values("task_id")).count() == 4


def test_output_counts_what_was_added(seeded):
    assert seeded.startswith("400 users, ")
    assert "5 reports" in seeded


def test_every_admin_page_shows_the_demo(seeded, super_admin, client):
    client.force_login(super_admin)
    for name in (
        "accounts_user",
        "accounts_authsession",
        "django_celery_results_taskresult",
        "tasks_app_emaillog",
        "tasks_app_userreport",
        "django_celery_beat_periodictask",
    ):
        response = client.get(reverse(f"admin:{name}_changelist"))
        assert response.status_code == 200, name
        assert "0 results" not in response.content.decode(), name
    overview = client.get(reverse("admin:tasks_app_taskoverview_changelist")).content.decode()
    assert "tasks_app.send_email" in overview
    assert "tasks_app.cleanup_sessions" in overview


def test_refuses_a_database_with_users_unless_forced(plain_user):
    with pytest.raises(CommandError, match="--force"):
        seed("--users", "10")
    assert User.objects.count() == 1
    seed("--users", "10", "--tasks", "0", "--force")
    assert User.objects.count() == 11
    seed("--users", "10", "--tasks", "400", "--force")  # a second demo: new names, new emails
    assert User.objects.count() == 21


def test_runs_after_make_run_started(super_admin):
    """The first super admin, its welcome email and beat's first runs are there already."""
    from tasks_app.services.emails.queueing import email_queue

    email_queue(to=super_admin.email, subject="Welcome", body_html="", idempotency_key="x")
    TaskResult.objects.create(task_id="relay-1", task_name="tasks_app.relay_outbox")
    assert seed("--users", "10", "--tasks", "0").startswith("10 users")


def test_same_seed_same_users(db):
    seed("--users", "20", "--tasks", "0")
    first = list(User.objects.order_by("username").values_list("username", "role", "is_active"))
    User.objects.all().delete()
    UserReport.objects.all().delete()
    TaskResult.objects.all().delete()
    seed("--users", "20", "--tasks", "0")
    again = list(User.objects.order_by("username").values_list("username", "role", "is_active"))
    assert again == first
