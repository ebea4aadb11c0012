"""Celery tasks: thin shims over services, each with an explicit, stable name.

Schedules in the database and messages already queued refer to tasks by these names, so renaming
one is a migration, not a refactor.
"""

from tasks_app.tasks.diagnostics import ping

__all__ = ["ping"]
from tasks_app.tasks.emails import requeue_stale_emails, send_email, send_welcome_email
from tasks_app.tasks.outbox import relay_outbox

__all__ += ["relay_outbox", "requeue_stale_emails", "send_email", "send_welcome_email"]
