"""Admin pages of the background-task app, one module per concern."""

from tasks_app.admin import history, schedules
from tasks_app.admin.emails import EmailLogAdmin
from tasks_app.admin.reports import UserReportAdmin

__all__ = [
    "EmailLogAdmin",
    "UserReportAdmin",
    "history",
    "schedules",
]
