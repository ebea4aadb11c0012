"""Account services (minimal: the accounts branch owns the full version; this one keeps its
signature so the email pipeline can be tested end to end)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Role, User
from tasks_app.queue import TaskQueue, get_task_queue


def user_create(
    *,
    username: str,
    email: str,
    password: str,
    role: str = Role.USER,
    task_queue: TaskQueue | None = None,
) -> User:
    """Create a user and, in the same transaction, enqueue the welcome email by user id."""
    task_queue = task_queue or get_task_queue()
    with transaction.atomic():
        user = User(username=username, email=User.objects.normalize_email(email), role=role)
        user.set_password(password)
        user.full_clean()
        user.save()
        task_queue.enqueue("tasks_app.send_welcome_email", user_id=str(user.pk))
    return user
