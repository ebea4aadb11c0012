"""Reads on users and their API sessions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from accounts.filters import filter_users
from accounts.models import AuthSession, User
from accounts.services import token_hash


def user_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[User]:
    """Users matching `filters` (UserFilterSet's data), newest first (with the id as a tie-break
    for stable pages); a ValidationError names each bad filter."""
    return filter_users(queryset=User.objects.order_by("-created_at", "-id"), filters=filters or {})


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
