"""Every way to create a user sends exactly one welcome email, and the task history keeps no
personal data: REST, the admin's add form and `manage.py create_user`, each through the outbox, the
broker and a real worker to aiosmtpd."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from unittest import mock

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_celery_results.models import TaskResult
from rest_framework.test import APIClient

from accounts.emails import WELCOME_SUBJECT
from accounts.models import Role, User
from project.celery import app as celery_app
from tasks_app.models import EmailLog
from tasks_app.selectors.broker import queue_lengths
from tasks_app.selectors.ledger import records_unpublished
from tasks_app.selectors.task_results import task_result_arguments
from tasks_app.services.emails.queueing import SEND_EMAIL_TASK
from tests.factories import PASSWORD, SuperAdminFactory
from tests.support.polling import wait_for
from tests.support.smtp import SmtpServer
from tests.support.worker import CeleryWorker

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("to_email_worker"),
]

# (actor, username, email, password) -> "" once the user is created, else the error shown.
CreateUser = Callable[[User, str, str, str], str]
PASSWORD_VARIABLE = "NEW_USER_PASSWORD"


def create_by_rest(actor: User, username: str, email: str, password: str) -> str:
    client = APIClient()
    login = client.post(
        "/api/auth/login/", {"username": actor.username, "password": PASSWORD}, format="json"
    )
    assert login.status_code == 200, login.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['token']}")
    response = client.post(
        "/api/users/",
        {"username": username, "email": email, "password": password},
        format="json",
    )
    assert response.status_code in (201, 400), response.content
    return "" if response.status_code == 201 else response.content.decode()


def create_in_admin(actor: User, username: str, email: str, password: str) -> str:
    client = Client()
    client.force_login(actor)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": username,
            "email": email,
            "role": Role.USER,
            "password1": password,
            "password2": password,
        },
    )
    if response.status_code == 302:
        return ""
    assert response.status_code == 200, response.content[:2000]
    errors = response.context["adminform"].form.errors
    assert errors, "the add form was shown again without an error"
    return json.dumps(errors.get_json_data())


def create_by_command(actor: User, username: str, email: str, password: str) -> str:
    # The password travels as the command's docs say: in a variable, never on the command line.
    with mock.patch.dict(os.environ, {PASSWORD_VARIABLE: password}):
        try:
            call_command(
                "create_user",
                username,
                email,
                "--password-env",
                PASSWORD_VARIABLE,
                stdout=StringIO(),
            )
        except CommandError as exc:
            return str(exc)
    return ""


@dataclass
class Welcomed:
    """A user created through one entry point, two failed creations after it, and a quiet queue."""

    user: User
    password: str
    refused_username: str
    refused_email: str

    @property
    def personal_data(self) -> list[str]:
        return [
            self.user.email,
            self.user.username,
            self.password,
            self.refused_username,
            self.refused_email,
        ]


def queue_is_quiet(worker: CeleryWorker, queue: str) -> bool:
    """Nothing left that could still send: no outbox row, no message in the broker, nothing held
    by the worker (running, prefetched or waiting for a retry's countdown)."""
    worker.assert_running()
    if records_unpublished().exists() or queue_lengths([queue])[queue] != 0:
        return False
    inspect = celery_app.control.inspect(destination=[worker.hostname], timeout=2)
    for replies in (inspect.active(), inspect.reserved(), inspect.scheduled()):
        if not replies or any(replies.values()):
            return False
    return True


@pytest.fixture(
    params=[create_by_rest, create_in_admin, create_by_command], ids=["rest", "admin", "command"]
)
def welcomed(request, email_worker: CeleryWorker, to_email_worker: str) -> Welcomed:
    create: CreateUser = request.param
    actor = SuperAdminFactory()
    tag = uuid.uuid4().hex[:8]
    username, email, password = f"newcomer_{tag}", f"inbox-{tag}@example.com", f"Pw-{uuid.uuid4()}"
    other_username, other_email = f"other_{tag}", f"elsewhere-{tag}@example.com"

    assert create(actor, username, email, password) == ""
    # Two creations that fail after it: the same address under another name, and the same name
    # with another address. Neither may enqueue anything.
    same_email = create(actor, other_username, email, password)
    same_username = create(actor, username, other_email, password)
    assert "email" in same_email and "already exists" in same_email
    assert "username" in same_username and "already exists" in same_username

    user = User.objects.get(email=email)

    def welcome_sent() -> bool:
        email_worker.assert_running()
        return (
            EmailLog.objects.filter(recipient=email, status=EmailLog.Status.SENT).exists()
            and TaskResult.objects.filter(task_name=SEND_EMAIL_TASK, status="SUCCESS").exists()
        )

    wait_for(welcome_sent, what="the welcome email to be sent")
    # Let whatever else might have been enqueued run, so that the counts below are final.
    wait_for(lambda: queue_is_quiet(email_worker, to_email_worker), what="the email queue to drain")
    return Welcomed(
        user=user,
        password=password,
        refused_username=other_username,
        refused_email=other_email,
    )


def test_each_entry_point_sends_exactly_one_welcome_email_and_failed_creations_none(
    welcomed: Welcomed, smtp: SmtpServer
):
    user = welcomed.user

    [received] = smtp.handler.to(user.email)
    [log] = EmailLog.objects.all()
    assert received.message["Subject"] == WELCOME_SUBJECT
    assert f"Welcome, {user.username}!" in received.part("plain")
    assert received.message_id == log.message_id
    assert (log.recipient, log.status, log.attempts) == (user.email, EmailLog.Status.SENT, 1)
    assert smtp.handler.to(welcomed.refused_email) == []
    assert not User.objects.filter(username=welcomed.refused_username).exists()
    # One broker message per creation: send_email itself, no welcome task in between.
    names = [SEND_EMAIL_TASK, "tasks_app.send_welcome_email"]
    sent = TaskResult.objects.filter(task_name__in=names).values_list("task_name", flat=True)
    assert list(sent) == [SEND_EMAIL_TASK]


def test_task_history_after_a_welcome_email_holds_no_personal_data(
    welcomed: Welcomed, email_worker: CeleryWorker
):
    send = TaskResult.objects.get(task_name=SEND_EMAIL_TASK)
    log = EmailLog.objects.get()

    assert task_result_arguments(send) == ([], {"email_log_id": log.pk})
    assert send.task_id == log.task_id
    # Every row of the task history, the outbox, the schedules and the other task tables, in
    # every column; the EmailLog row is the one place that must hold the address.
    places = [
        model
        for label in ("django_celery_results", "django_celery_beat", "tasks_app")
        for model in apps.get_app_config(label).get_models()
        if model is not EmailLog
    ]
    dump = "\n".join(
        json.dumps(row, default=str) for model in places for row in model.objects.values()
    ).lower()
    assert log.task_id in dump  # the dump does see the task rows
    worker_log = email_worker.log_path.read_text(errors="replace").lower()
    assert f"{SEND_EMAIL_TASK}[{log.task_id}]" in worker_log
    for secret in welcomed.personal_data:
        assert secret.lower() not in dump, f"{secret!r} is in the task tables"
        assert secret.lower() not in worker_log, f"{secret!r} is in the worker's log"
