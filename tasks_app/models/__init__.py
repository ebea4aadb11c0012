"""Models of the background-task app, one module per concern."""

from tasks_app.models.beat import BeatHeartbeat, BeatLease
from tasks_app.models.emails import EmailLog
from tasks_app.models.ledger import TaskAttempt, TaskRecord, Trigger
from tasks_app.models.overview import HistoryBucket, TaskOverview
from tasks_app.models.reports import UserReport

__all__ = [
    "BeatHeartbeat",
    "BeatLease",
    "EmailLog",
    "HistoryBucket",
    "TaskAttempt",
    "TaskOverview",
    "TaskRecord",
    "Trigger",
    "UserReport",
]
