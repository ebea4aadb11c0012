"""Celery tasks: thin shims over services, each with an explicit, stable name.

Schedules in the database and messages already queued refer to tasks by these names, so renaming
one is a migration, not a refactor.
"""

from tasks_app.tasks.cleanup import cleanup_sessions
from tasks_app.tasks.diagnostics import ping

__all__ = ["ping"]
__all__ += ["cleanup_sessions"]
