"""Finding 10: `ensure_superuser` validates the password like every other account creation."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_env(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.com")
    return monkeypatch


@pytest.mark.parametrize("password", ["1", "password", "12345678"])
def test_weak_superuser_password_is_refused(superuser_env, password):
    superuser_env.setenv("DJANGO_SUPERUSER_PASSWORD", password)

    with pytest.raises(CommandError, match="password"):
        call_command("ensure_superuser", stdout=StringIO())

    assert not User.objects.filter(username="root").exists()


def test_strong_superuser_password_makes_a_super_admin(superuser_env):
    superuser_env.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)

    call_command("ensure_superuser", stdout=StringIO())

    root = User.objects.get(username="root")
    assert root.role == Role.SUPER_ADMIN and root.check_password(PASSWORD)
