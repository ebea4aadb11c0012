"""Who may use the background-task API: the Django model permissions the admin checks for the
same models (granted by role in accounts.backends, or by a group)."""

from __future__ import annotations

from accounts.permissions import HasModelPermission


class CanViewSchedules(HasModelPermission):
    permission = "django_celery_beat.view_periodictask"


class CanChangeSchedules(HasModelPermission):
    """Re-time, switch on or off, and run now: the admin's change permission and its action."""

    permission = "django_celery_beat.change_periodictask"


class CanViewTaskHistory(HasModelPermission):
    permission = "django_celery_results.view_taskresult"


class CanChangeTaskHistory(HasModelPermission):
    """Retry or cancel a task: the history admin's actions need the same permission."""

    permission = "django_celery_results.change_taskresult"


class CanRequestReports(HasModelPermission):
    permission = "tasks_app.add_userreport"


class CanViewReports(HasModelPermission):
    """See a report and download its file."""

    permission = "tasks_app.view_userreport"
