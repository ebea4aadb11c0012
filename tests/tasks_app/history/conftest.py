"""The personas (an admin, a super admin, a plain user), shared with the other task-app tests."""

from tests.tasks_app.periodic.conftest import admin, plain_user, superadmin

__all__ = ["admin", "plain_user", "superadmin"]
