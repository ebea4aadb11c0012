"""The account services: creation, updates, deactivation and API sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory, override_settings
from django.utils import timezone

from accounts.models import AuthSession, Role, User
from accounts.selectors import auth_session_get_active
from accounts.services import (
    auth_session_create,
    auth_session_revoke,
    token_hash,
    user_create,
    user_deactivate,
    user_update,
)
from project.errors import ApplicationError, AuthenticationError, PermissionDeniedError
from tasks_app.queue.memory import InMemoryTaskQueue
from tests.factories import PASSWORD, AdminFactory, SuperAdminFactory, UserFactory, open_session

pytestmark = pytest.mark.django_db


def create(queue: InMemoryTaskQueue | None = None, **overrides) -> User:
    fields = {"username": "ada", "email": "Ada@Example.COM", "password": PASSWORD, **overrides}
    return user_create(task_queue=queue or InMemoryTaskQueue(), **fields)


def test_welcome_email_waits_for_commit(django_capture_on_commit_callbacks):
    queue = InMemoryTaskQueue()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        create(queue)
        assert queue.published == []
    assert len(callbacks) == 1


def test_failed_creation_enqueues_nothing(django_capture_on_commit_callbacks):
    queue = InMemoryTaskQueue()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        create(queue, password="123")
    assert queue.published == []
    assert not User.objects.filter(username="ada").exists()


def test_user_create_hashes_the_password_and_normalizes_the_email_domain():
    user = create()
    assert user.password != PASSWORD and user.check_password(PASSWORD)
    assert user.email == "Ada@example.com"


def test_email_is_unique_without_regard_to_case():
    create()
    with pytest.raises(ValidationError) as exc:
        create(username="other", email="ADA@example.com")
    assert exc.value.message_dict == {"email": ["A user with that email already exists."]}


def test_username_must_be_unique():
    create()
    with pytest.raises(ValidationError) as exc:
        create(email="other@example.com")
    assert "username" in exc.value.message_dict


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short", "too short"), ("password123", "too common"), ("83749283749", "entirely numeric")],
)
def test_django_password_validators_apply(password, reason):
    with pytest.raises(ValidationError) as exc:
        create(password=password)
    assert reason in " ".join(exc.value.message_dict["password"])


def test_password_similar_to_the_username_is_refused():
    with pytest.raises(ValidationError) as exc:
        create(username="margaretha", email="m@example.com", password="margaretha1")
    assert "too similar" in " ".join(exc.value.message_dict["password"])


@pytest.mark.parametrize("role", [Role.USER, Role.ADMIN, Role.SUPER_ADMIN])
def test_flags_follow_the_role(role):
    user = create(role=role)
    assert user.is_staff == (role != Role.USER)
    assert user.is_superuser == (role == Role.SUPER_ADMIN)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPER_ADMIN])
def test_only_a_super_admin_grants_admin_roles(role):
    with pytest.raises(PermissionDeniedError):
        create(role=role, created_by=AdminFactory())
    assert create(role=role, created_by=SuperAdminFactory()).role == role
    # Without a creator (a management command run by an operator) any role may be given.
    assert create(username="cli", email="cli@example.com", role=role).role == role


def test_deactivation_ends_the_users_sessions():
    user = UserFactory()
    open_session(user)
    open_session(user)
    other_session, _ = open_session(UserFactory())
    user_deactivate(user=user, actor=SuperAdminFactory())
    assert not AuthSession.objects.filter(user=user).exists()
    assert AuthSession.objects.filter(pk=other_session.pk).exists()
    user.refresh_from_db()
    assert user.is_active is False


def test_role_change_updates_the_flags():
    user = UserFactory()
    updated = user_update(user=user, actor=SuperAdminFactory(), data={"role": Role.ADMIN})
    assert (updated.is_staff, updated.is_superuser) == (True, False)


def test_admin_cannot_change_another_admin():
    with pytest.raises(PermissionDeniedError):
        user_update(user=AdminFactory(), actor=AdminFactory(), data={"is_active": False})


def test_nobody_deactivates_or_demotes_themselves():
    root = SuperAdminFactory()
    with pytest.raises(ApplicationError):
        user_update(user=root, actor=root, data={"is_active": False})
    with pytest.raises(ApplicationError):
        user_update(user=root, actor=root, data={"role": Role.USER})


def test_update_rejects_a_taken_email_in_another_case():
    UserFactory(email="taken@example.com")
    with pytest.raises(ValidationError) as exc:
        user_update(user=UserFactory(), actor=None, data={"email": "TAKEN@example.com"})
    assert "email" in exc.value.message_dict


def login_request(**headers):
    """The HTTP request a login comes with: the throttle counts per its client address."""
    return RequestFactory().post("/api/auth/login/", **headers)


@override_settings(AUTH_SESSION_TTL_HOURS=3)
def test_login_stores_only_a_hash_and_uses_the_configured_lifetime():
    user = UserFactory()
    before = timezone.now()
    request = login_request(HTTP_USER_AGENT="x" * 999)
    issued = auth_session_create(request=request, username=user.username, password=PASSWORD)
    session = issued.session
    assert session.token_hash == token_hash(issued.token) != issued.token
    assert not AuthSession.objects.filter(token_hash=issued.token).exists()
    assert timedelta(hours=3) <= session.expires_at - before < timedelta(hours=3, seconds=5)
    assert len(session.user_agent) == 256
    assert auth_session_get_active(token=issued.token) == session


@pytest.mark.parametrize("case", ["wrong password", "unknown user", "inactive user"])
def test_login_failures_look_the_same(case):
    user = UserFactory(is_active=case != "inactive user")
    username = "nobody" if case == "unknown user" else user.username
    password = "wrong" if case == "wrong password" else PASSWORD
    with pytest.raises(AuthenticationError) as exc:
        auth_session_create(request=login_request(), username=username, password=password)
    assert exc.value.message == "Unable to log in with the given username and password."


def test_revoked_and_expired_sessions_are_not_active():
    session, token = open_session(UserFactory())
    _expired, expired_token = open_session(UserFactory(), expires_in=timedelta(seconds=-1))
    assert auth_session_get_active(token=expired_token) is None
    auth_session_revoke(session=session)
    assert auth_session_get_active(token=token) is None


def test_a_duplicate_that_slips_past_validation_is_a_validation_error(monkeypatch):
    """Two concurrent requests can both pass the uniqueness check; the database decides, and the
    loser gets a field error instead of an IntegrityError (a 500) in a broken transaction."""
    UserFactory(username="someone", email="ADA@example.com")
    monkeypatch.setattr("accounts.services.user_validate", lambda **kwargs: None)
    with pytest.raises(ValidationError):
        create()
    assert User.objects.count() == 1  # the surrounding transaction is still usable
