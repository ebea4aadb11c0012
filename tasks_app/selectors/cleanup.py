"""What the session cleanup would delete (its dry run)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from accounts.models import AuthSession


@dataclass(frozen=True)
class ExpiredSessions:
    auth_sessions: int
    django_sessions: int | None  # None when the session engine keeps no rows to count


def sessions_count_expired(*, now: datetime.datetime | None = None) -> ExpiredSessions:
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
