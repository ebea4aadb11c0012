"""Models of the background-task app, one module per concern."""

from tasks_app.models.emails import EmailLog
from tasks_app.models.outbox import OutboxMessage
from tasks_app.models.reports import UserReport

__all__ = ["EmailLog", "OutboxMessage", "UserReport"]
