"""Writes on users and their API sessions. Every entry point (REST, admin, commands) calls these.

The seed's `CreateUserInteractor` becomes `user_create`: one transaction, Django's password
validators, and the welcome email queued in that transaction (`accounts.emails`), which the
task-queue port publishes only after commit (the seed's `send_task` went out at once, so a
rolled-back user could still get an email).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.emails import welcome_email_queue
from accounts.models import AuthSession, Role, User
from accounts.throttling import client_ip
from accounts.usernames import username_problem
from project.errors import ApplicationError, AuthenticationError, PermissionDeniedError
from tasks_app.queue import TaskQueue, get_task_queue

PRIVILEGED_ROLES = frozenset({Role.ADMIN, Role.SUPER_ADMIN})
# Writing last_used_at on every request would turn every read into a write; a minute is precise
# enough to see which sessions are in use.
LAST_USED_PRECISION = timedelta(minutes=1)
INVALID_CREDENTIALS = "Unable to log in with the given username and password."
UPDATABLE_FIELDS = ("username", "email", "role", "is_active")


def token_hash(token: str) -> str:
    """Tokens are 256-bit random strings, so one unsalted SHA-256 is enough (no password hasher)."""
    return hashlib.sha256(token.encode()).hexdigest()


# --- Rules shared by the services and the admin's forms --------------------------------------


def user_check_role_change(
    *, actor: User | None, role: str, current_role: str | None = None
) -> None:
    """Only a super admin grants or takes away ADMIN/SUPER_ADMIN; `actor=None` is the shell."""
    if actor is None or actor.role == Role.SUPER_ADMIN or role == current_role:
        return
    if role in PRIVILEGED_ROLES or current_role in PRIVILEGED_ROLES:
        message = "Only a super admin can grant or revoke the ADMIN and SUPER_ADMIN roles."
        raise PermissionDeniedError(message, errors={"role": [message]})


def user_check_update(*, actor: User | None, user: User, data: dict[str, Any]) -> None:
    """May `actor` apply `data` to `user` (as stored)? Admins change only plain users, and nobody
    demotes or deactivates themselves, so the last super admin cannot lock everyone out."""
    if actor is not None and actor.role != Role.SUPER_ADMIN and user.role in PRIVILEGED_ROLES:
        raise PermissionDeniedError("Only a super admin can change an admin's account.")
    if "role" in data:
        user_check_role_change(actor=actor, role=data["role"], current_role=user.role)
    if actor is not None and actor.pk == user.pk:
        if data.get("role", user.role) != user.role:
            raise ApplicationError(
                "You cannot change your own role.", errors={"role": ["Ask another super admin."]}
            )
        if data.get("is_active") is False:
            raise ApplicationError(
                "You cannot deactivate yourself.", errors={"is_active": ["Ask another admin."]}
            )


def user_validate(*, user: User, password: str | None = None) -> None:
    """Field checks, uniqueness (username and email without regard to case), look-alike
    usernames and, if given, the password.

    Raises one `ValidationError` keyed by field so that forms and the API show every problem.
    """
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password", "last_login"], validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if "username" not in errors and (problem := username_problem(user.username)):
        errors["username"] = [problem]
    if (
        "username" not in errors
        and User.objects.filter(username__iexact=user.username).exclude(pk=user.pk).exists()
    ):
        errors["username"] = ["A user with that username already exists."]
    if (
        "email" not in errors
        and User.objects.filter(email__iexact=user.email).exclude(pk=user.pk).exists()
    ):
        errors["email"] = ["A user with that email already exists."]
    if password is not None:
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)


def _save(user: User, **kwargs: Any) -> None:
    """Save in a savepoint: a concurrent insert of the same name or email becomes a validation
    error instead of an IntegrityError (a 500) that also breaks the outer transaction."""
    try:
        with transaction.atomic():
            user.save(**kwargs)
    except IntegrityError:
        raise ValidationError(
            {"username": ["A user with that username or email already exists."]}
        ) from None
    # is_staff/is_superuser are computed by the database from the role.
    user.refresh_from_db(fields=["is_staff", "is_superuser"])


# --- Users ------------------------------------------------------------------------------------


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str,
    password: str,
    role: str = Role.USER,
    created_by: User | None = None,
    task_queue: TaskQueue | None = None,
) -> User:
    """Create an account and queue its welcome email: one `EmailLog` row and one
    `tasks_app.send_email` message, published once the transaction commits."""
    user_check_role_change(actor=created_by, role=role)
    user = User(username=username, email=User.objects.normalize_email(email), role=role)
    user_validate(user=user, password=password)
    user.set_password(password)
    _save(user, force_insert=True)
    welcome_email_queue(user=user, task_queue=task_queue or get_task_queue())
    return user


@transaction.atomic
def user_update(*, user: User, actor: User | None, data: dict[str, Any]) -> User:
    """Change the fields in `data` (a subset of UPDATABLE_FIELDS); deactivation ends sessions.

    Works from the locked database row, so the rules see the role as stored, not as an
    admin form may already have changed it on `user`.
    """
    unknown = set(data) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ApplicationError(f"Cannot update {', '.join(sorted(unknown))}.")
    current = User.objects.select_for_update().get(pk=user.pk)
    user_check_update(actor=actor, user=current, data=data)
    if not data:
        return current
    deactivating = current.is_active and data.get("is_active") is False
    for field, value in data.items():
        setattr(current, field, value)
    if "email" in data:
        current.email = User.objects.normalize_email(current.email)
    user_validate(user=current)
    _save(current, update_fields=list(data))
    if deactivating:
        AuthSession.objects.filter(user=current).delete()
    return current


@transaction.atomic
def user_deactivate(*, user: User, actor: User | None = None) -> User:
    """Deactivate one account and end its API sessions."""
    return user_update(user=user, actor=actor, data={"is_active": False})


def users_set_active(*, users: QuerySet[User], active: bool, actor: User | None) -> int:
    """Bulk (de)activation for the admin; returns how many accounts changed.

    Skips the actor itself and, unless the actor is a super admin, other admins, so that one
    action cannot lock out the people who could undo it.
    """
    users = users.exclude(is_active=active)
    if actor is not None:
        users = users.exclude(pk=actor.pk)
        if actor.role != Role.SUPER_ADMIN:
            users = users.exclude(role__in=PRIVILEGED_ROLES)
    with transaction.atomic():
        ids = list(users.select_for_update().values_list("pk", flat=True))
        changed = User.objects.filter(pk__in=ids).update(is_active=active)
        if not active:
            AuthSession.objects.filter(user_id__in=ids).delete()
    return changed


@transaction.atomic
def user_set_password(*, user: User, password: str | None, actor: User | None = None) -> User:
    """Set a new password (validated), or none (`password=None`: no password login), and end
    every session of the user: its API bearer tokens are deleted here, and its Django (admin)
    sessions stop working because each carries a hash of the password it was opened with.

    Every password change goes through here: the admin's password form and `manage.py
    changepassword`. `actor` is who asks; the same rule as other changes applies.
    """
    current = User.objects.select_for_update().get(pk=user.pk)
    user_check_update(actor=actor, user=current, data={})
    if password is None:
        current.set_unusable_password()
    else:
        try:
            validate_password(password, user=current)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        current.set_password(password)
    current.save(update_fields=["password"])
    AuthSession.objects.filter(user=current).delete()
    user.password = current.password
    return current


# --- API sessions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    """The session row and its bearer token; the token exists only here, never in the database."""

    session: AuthSession
    token: str


def auth_session_create(*, request: HttpRequest, username: str, password: str) -> IssuedToken:
    """Log in: check the credentials and open a session of `AUTH_SESSION_TTL_HOURS`.

    `request` is the login's HTTP request: the failed-login throttle (accounts.throttling) counts
    per its client address, and the session records that address and the user agent. Wrong
    password, unknown user, inactive user and a throttled attempt give the same error here, so
    the answer does not tell which usernames exist (the throttle's middleware makes the last a
    429); Django's backend also hashes once for unknown users.
    """
    user = authenticate(request, username=username, password=password)
    if user is None:
        raise AuthenticationError(INVALID_CREDENTIALS)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    session = AuthSession.objects.create(
        user=user,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + timedelta(hours=settings.AUTH_SESSION_TTL_HOURS),
        last_used_at=now,
        user_agent=request.headers.get("user-agent", "")[
            : AuthSession._meta.get_field("user_agent").max_length
        ],
        ip_address=client_ip(request),
    )
    # What django.contrib.auth.login sends: last_login is updated, and the throttle gives this
    # attempt back (a success never counts towards a lockout).
    user_logged_in.send(sender=User, request=request, user=user)
    return IssuedToken(session=session, token=token)


def auth_session_touch(*, session: AuthSession) -> None:
    """Record use at most once per LAST_USED_PRECISION: one conditional UPDATE, often none."""
    now = timezone.now()
    if session.last_used_at is not None and now - session.last_used_at < LAST_USED_PRECISION:
        return
    AuthSession.objects.filter(pk=session.pk).update(last_used_at=now)
    session.last_used_at = now


def auth_session_revoke(*, session: AuthSession) -> None:
    """Log out: the row goes, so the token stops working at once."""
    AuthSession.objects.filter(pk=session.pk).delete()


def auth_sessions_revoke(*, sessions: QuerySet[AuthSession]) -> int:
    """Revoke many sessions (the admin action); returns how many were deleted."""
    deleted, _ = AuthSession.objects.filter(pk__in=sessions.values("pk")).delete()
    return deleted
