"""Personas and helpers for the periodic-work tests."""

from __future__ import annotations

import pytest

from accounts.models import Role, User


def make_user(username: str, role: str = Role.USER) -> User:
    user = User.objects.create_user(
        username, f"{username}@example.com", "pw-not-under-test", role=role
    )
    user.refresh_from_db()  # is_staff / is_superuser are computed by the database from the role
    return user


@pytest.fixture
def admin(db) -> User:
    """An ADMIN: may use the admin APIs."""
    return make_user("ada-admin", Role.ADMIN)


@pytest.fixture
def superadmin(db) -> User:
    """A SUPER_ADMIN: every admin page and action."""
    return make_user("sam-super", Role.SUPER_ADMIN)


@pytest.fixture
def plain_user(db) -> User:
    """A USER: no admin rights at all."""
    return make_user("una-user", Role.USER)
