"""Models of the background-task app, one module per concern."""

from tasks_app.models.reports import UserReport  # noqa: F401
