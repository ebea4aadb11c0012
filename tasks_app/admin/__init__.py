"""Admin pages of the background-task app, one module per concern."""

from tasks_app.admin import history, periodic  # noqa: F401
