"""Models of the background-task app, one module per concern."""

from tasks_app.models.beat import BeatHeartbeat  # noqa: F401
from tasks_app.models.overview import TaskOverview  # noqa: F401
