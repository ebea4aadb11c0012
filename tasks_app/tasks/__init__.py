"""Celery tasks: thin shims over services, each with an explicit, stable name.

Schedules in the database and messages already queued refer to tasks by these names, so renaming
one is a migration, not a refactor.
"""

from tasks_app.tasks.cleanup import cleanup_sessions
from tasks_app.tasks.diagnostics import ping
from tasks_app.tasks.emails import requeue_stale_emails, send_email, send_welcome_email
from tasks_app.tasks.history import count_history_buckets, expire_task_history, fail_lost_tasks
from tasks_app.tasks.outbox import relay_outbox
from tasks_app.tasks.reports import expire_reports, fail_stale_reports, generate_user_report

__all__ = [
    "cleanup_sessions",
    "count_history_buckets",
    "expire_reports",
    "expire_task_history",
    "fail_lost_tasks",
    "fail_stale_reports",
    "generate_user_report",
    "ping",
    "relay_outbox",
    "requeue_stale_emails",
    "send_email",
    "send_welcome_email",
]
