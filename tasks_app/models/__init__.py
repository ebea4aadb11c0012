"""Models of the background-task app, one module per concern."""

from tasks_app.models.emails import EmailLog  # noqa: F401
from tasks_app.models.outbox import OutboxMessage  # noqa: F401
