"""The welcome email: what it says and who gets it. These are the accounts' rules; queueing,
retries and delivery are the generic email service's (`tasks_app.services.emails`).

The seed built the HTML with an f-string around the raw username (HTML injection); the templates
here render with Django's autoescaping, so a username like `<script>` is text in the HTML part.
"""

from __future__ import annotations

import logging

from django.template.loader import render_to_string

from accounts.models import User
from tasks_app.models import EmailLog
from tasks_app.queue import TaskQueue
from tasks_app.services.emails.queueing import email_queue

logger = logging.getLogger(__name__)

WELCOME_SUBJECT = "Welcome to Our Platform!"


def welcome_email_queue(*, user: User, task_queue: TaskQueue | None = None) -> EmailLog | None:
    """Queue `user`'s welcome email in the caller's transaction, once per user (the key
    `welcome:<user id>`: a second call returns the first row and enqueues nothing). An inactive
    user gets none."""
    if not user.is_active:
        logger.info("welcome email skipped: user %s is inactive", user.pk)
        return None
    context = {"username": user.username}
    return email_queue(
        to=user.email,
        subject=WELCOME_SUBJECT,
        body_html=render_to_string("accounts/emails/welcome.html", context),
        body_text=render_to_string("accounts/emails/welcome.txt", context),
        idempotency_key=f"welcome:{user.pk}",
        task_queue=task_queue,
    )
