"""factory-boy factories and the named personas the tests talk about.

Personas: `plain_user` (role USER), `admin` (ADMIN), `super_admin` (SUPER_ADMIN) and the
`outsider`, who has no account (an anonymous client). Factories write rows directly: they set up
a scene; the behaviour under test goes through services and entry points.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import AuthSession, Role, User
from accounts.services import token_hash

PASSWORD = "correct-Horse-battery-staple-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    role = Role.USER
    is_active = True
    password = factory.django.Password(PASSWORD)


class AdminFactory(UserFactory):
    username = factory.Sequence(lambda n: f"admin{n}")
    role = Role.ADMIN


class SuperAdminFactory(UserFactory):
    username = factory.Sequence(lambda n: f"root{n}")
    role = Role.SUPER_ADMIN


def open_session(
    user: User, *, expires_in: timedelta = timedelta(hours=1)
) -> tuple[AuthSession, str]:
    """A session row for `user` and its raw bearer token (the row stores only the hash)."""
    token = secrets.token_urlsafe(32)
    session = AuthSession.objects.create(
        user=user, token_hash=token_hash(token), expires_at=timezone.now() + expires_in
    )
    return session, token


PERSONAS = {
    "plain_user": UserFactory,
    "admin": AdminFactory,
    "super_admin": SuperAdminFactory,
}
