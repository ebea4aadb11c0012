"""Admin pages of the background-task app, one module per concern."""

from tasks_app.admin.emails import EmailLogAdmin, OutboxMessageAdmin  # noqa: F401
