"""Fixtures of the fault tests."""

from tests.tasks_app.reports.conftest import seed_users as seed_users
