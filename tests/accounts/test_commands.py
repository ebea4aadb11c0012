"""`create_user`, and the stock `createsuperuser` (via `ensure_superuser`) giving SUPER_ADMIN."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Role, User
from tasks_app.models import EmailLog
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_create_user_command_goes_through_the_service(
    monkeypatch, task_queue, django_capture_on_commit_callbacks
):
    monkeypatch.setenv("NEW_PASSWORD", PASSWORD)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "create_user",
            "ops",
            "ops@example.com",
            "--role",
            "ADMIN",
            "--password-env",
            "NEW_PASSWORD",
            stdout=out,
        )
    user = User.objects.get(username="ops")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.ADMIN, True, False)
    assert user.check_password(PASSWORD)
    assert "Created ADMIN ops" in out.getvalue()
    welcome = EmailLog.objects.get(idempotency_key=f"welcome:{user.pk}")
    assert [t.kwargs for t in task_queue.published] == [{"email_log_id": welcome.pk}]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["u1", "u1@example.com"], {"PW": "123"}, "password:"),
        (["u1", "TAKEN@example.com"], {"PW": PASSWORD}, "email:"),
        (["bad name!", "b@example.com"], {"PW": PASSWORD}, "username:"),
        (["u1", "u1@example.com"], {}, "PW is not set"),
    ],
)
def test_create_user_command_refuses_bad_input(monkeypatch, task_queue, args, env, message):
    UserFactory(email="taken@example.com")
    monkeypatch.delenv("PW", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(CommandError, match=message):
        call_command("create_user", *args, "--password-env", "PW")
    assert task_queue.published == []


def test_create_user_command_rejects_unknown_roles():
    with pytest.raises(CommandError):
        call_command("create_user", "u", "u@example.com", "--role", "KING")


def test_createsuperuser_makes_a_super_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("ensure_superuser", stdout=StringIO())
    root = User.objects.get(username="root")
    assert (root.role, root.is_staff, root.is_superuser) == (Role.SUPER_ADMIN, True, True)
    assert root.check_password(PASSWORD)
    out = StringIO()
    call_command("ensure_superuser", stdout=out)  # idempotent
    assert "exists" in out.getvalue()
    assert User.objects.filter(username="root").count() == 1
