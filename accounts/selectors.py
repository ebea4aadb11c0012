"""Reads on users and their API sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import AuthSession, User
from accounts.services import token_hash


@dataclass(frozen=True)
class UserFilters:
    """What the user list can be narrowed by; `None` means "any"."""

    role: str | None = None
    is_active: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    search: str | None = None


def user_list(*, filters: UserFilters | None = None) -> QuerySet[User]:
    """Users matching `filters`, newest first (with the id as a tie-break for stable pages)."""
    filters = filters or UserFilters()
    users = User.objects.order_by("-created_at", "-id")
    if filters.role:
        users = users.filter(role=filters.role)
    if filters.is_active is not None:
        users = users.filter(is_active=filters.is_active)
    if filters.created_after:
        users = users.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        users = users.filter(created_at__lt=filters.created_before)
    if filters.search:
        users = users.filter(
            Q(username__icontains=filters.search) | Q(email__icontains=filters.search)
        )
    return users


def user_get(*, user_id: object) -> User | None:
    """The user with this id, or None (also for ids that are not UUIDs)."""
    try:
        return User.objects.filter(pk=user_id).first()
    except (ValidationError, ValueError, TypeError):
        return None


def auth_session_get_active(*, token: str) -> AuthSession | None:
    """The unexpired session of an active user that this bearer token opened, or None."""
    return (
        AuthSession.objects.select_related("user")
        .filter(
            token_hash=token_hash(token),
            expires_at__gt=timezone.now(),
            user__is_active=True,
        )
        .first()
    )


# --- Expired sessions (what `manage.py cleanup_sessions --dry-run` reports) --------------------


@dataclass(frozen=True)
class ExpiredSessions:
    auth_sessions: int
    django_sessions: int | None  # None when the session engine keeps no rows to count


def sessions_count_expired(*, now: datetime | None = None) -> ExpiredSessions:
    """How many API sessions and Django sessions the cleanup would delete now."""
    now = now or timezone.now()
    django_sessions = None
    if settings.SESSION_ENGINE in {
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    }:
        from django.contrib.sessions.models import Session

        django_sessions = Session.objects.filter(expire_date__lt=now).count()
    return ExpiredSessions(
        auth_sessions=AuthSession.objects.filter(expires_at__lt=now).count(),
        django_sessions=django_sessions,
    )
