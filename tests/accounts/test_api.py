"""Every accounts endpoint through HTTP, with real bearer tokens."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from axes.helpers import get_client_cache_keys
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuthSession, Role, User
from tasks_app.models import EmailLog
from tests.factories import PASSWORD, AdminFactory, UserFactory, open_session
from tests.support.services import redis_url, require

pytestmark = pytest.mark.django_db

LOGIN = "/api/auth/login/"
LOGOUT = "/api/auth/logout/"
ME = "/api/users/me/"
USERS = "/api/users/"


def detail(user: User | str) -> str:
    return f"/api/users/{getattr(user, 'pk', user)}/"


def login(client: APIClient, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, format="json", **extra)


def assert_error(response, status: int, *fields: str) -> dict:
    """Every error is JSON: a message, and the field names when input was invalid."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["message"], str) and body["message"]
    assert set(fields) <= set(body["errors"]), body
    return body


# --- login / logout -----------------------------------------------------------------------------


def test_login_returns_a_token_that_authenticates(plain_user):
    response = login(APIClient(), plain_user.username, HTTP_USER_AGENT="pytest/1")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    session = AuthSession.objects.get(user=plain_user)
    assert session.user_agent == "pytest/1" and session.ip_address == "127.0.0.1"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert client.get(ME).json()["username"] == plain_user.username


def test_wrong_password_and_inactive_user_get_the_same_401(plain_user):
    wrong = assert_error(login(APIClient(), plain_user.username, "nope"), 401)
    plain_user.is_active = False
    plain_user.save()
    inactive = assert_error(login(APIClient(), plain_user.username), 401)
    assert wrong == inactive
    assert not AuthSession.objects.exists()


def test_login_validates_its_input():
    assert_error(APIClient().post(LOGIN, {}, format="json"), 400, "username", "password")
    body = {"username": ["a"], "password": {"x": 1}}
    assert_error(APIClient().post(LOGIN, body, format="json"), 400, "username", "password")


def test_failed_logins_are_throttled_per_client_and_successes_are_not(plain_user):
    limit = settings.AXES_FAILURE_LIMIT
    client = APIClient()
    for _ in range(limit + 3):  # successes do not count
        assert login(client, plain_user.username).status_code == 200
    for _ in range(limit):
        assert login(client, plain_user.username, "wrong").status_code == 401
    throttled = assert_error(login(client, plain_user.username), 429)
    assert "Too many failed logins" in throttled["message"]
    # A forged X-Forwarded-For is not a new client (TRUSTED_PROXIES=0 trusts only the peer).
    assert login(client, plain_user.username, HTTP_X_FORWARDED_FOR="10.9.8.7").status_code == 429
    # Another client, logging in to another account, is not affected.
    other = login(APIClient(REMOTE_ADDR="10.0.0.2"), UserFactory().username)
    assert other.status_code == 200


def test_logout_deletes_the_session(client_for, plain_user):
    client = client_for(plain_user)
    assert AuthSession.objects.filter(user=plain_user).count() == 1
    response = client.post(LOGOUT)
    assert response.status_code == 204
    assert not AuthSession.objects.filter(user=plain_user).exists()
    assert_error(client.get(ME), 401)


# --- bearer tokens ------------------------------------------------------------------------------


def test_expired_token_is_rejected(plain_user):
    _session, token = open_session(plain_user, expires_in=timedelta(seconds=-1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get(ME)
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_deleted_session_is_rejected(plain_user):
    session, token = open_session(plain_user)
    session.delete()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(client.get(ME), 401)


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer a b", "Bearer nonsense", "Bearer " + "x" * 100_000]
)
def test_malformed_or_unknown_tokens_are_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(client.get(ME), 401)


def test_last_use_is_recorded_at_most_once_a_minute(plain_user, django_assert_num_queries):
    session, token = open_session(plain_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get(ME)  # first use: one UPDATE
    session.refresh_from_db()
    first_use = session.last_used_at
    assert first_use is not None
    with django_assert_num_queries(1):  # later uses within the minute: the SELECT only
        assert client.get(ME).status_code == 200
    session.refresh_from_db()
    assert session.last_used_at == first_use


# --- users --------------------------------------------------------------------------------------


def test_me_shows_the_user_without_the_password(client_for, admin):
    body = client_for(admin).get(ME).json()
    assert body["id"] == str(admin.pk)
    assert (body["role"], body["is_staff"], body["is_superuser"]) == ("ADMIN", True, False)
    assert "password" not in body


def test_create_user_returns_201_and_enqueues_the_welcome_email(
    client_for, super_admin, task_queue, django_capture_on_commit_callbacks
):
    payload = {"username": "grace", "email": "grace@example.com", "password": PASSWORD}
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(super_admin).post(USERS, payload, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["role"] == "USER" and "password" not in body
    assert "password" not in str(body) and PASSWORD not in str(body)
    welcome = EmailLog.objects.get(idempotency_key=f"welcome:{body['id']}")
    assert [(t.name, t.kwargs) for t in task_queue.published] == [
        ("tasks_app.send_email", {"email_log_id": welcome.pk})
    ]


def test_create_user_reports_every_invalid_field(client_for, admin, task_queue):
    UserFactory(username="taken", email="taken@example.com")
    payload = {"username": "taken", "email": "TAKEN@example.com", "password": "123"}
    response = client_for(admin).post(USERS, payload, format="json")
    assert_error(response, 400, "username", "email", "password")
    assert task_queue.published == []


@pytest.mark.parametrize(
    ("role", "is_staff", "is_superuser"),
    [("USER", False, False), ("ADMIN", True, False), ("SUPER_ADMIN", True, True)],
)
def test_role_and_flags_agree_through_rest(client_for, super_admin, role, is_staff, is_superuser):
    client = client_for(super_admin)
    payload = {"username": f"u-{role}", "email": f"{role}@example.com", "password": PASSWORD}
    body = client.post(USERS, {**payload, "role": role}, format="json").json()
    assert (body["role"], body["is_staff"], body["is_superuser"]) == (role, is_staff, is_superuser)
    user = User.objects.get(pk=body["id"])
    assert (user.is_staff, user.is_superuser) == (is_staff, is_superuser)
    # Changing the role moves the flags with it.
    body = client.patch(detail(user), {"role": "USER"}, format="json").json()
    assert (body["is_staff"], body["is_superuser"]) == (False, False)


def test_list_users_filters_searches_and_paginates(client_for, admin):
    old = UserFactory(username="old-timer", email="old@example.org")
    User.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    UserFactory(username="inactive-one", is_active=False)
    UserFactory.create_batch(3)
    client = client_for(admin)

    def usernames(**params) -> set[str]:
        response = client.get(USERS, params)
        assert response.status_code == 200, response.content
        return {user["username"] for user in response.json()["results"]}

    assert usernames(role="ADMIN") == {admin.username}
    assert "inactive-one" in usernames(is_active="false")
    assert "inactive-one" not in usernames(is_active="true")
    assert usernames(search="OLD@example") == {"old-timer"}
    week_ago = (timezone.now() - timedelta(days=7)).isoformat()
    assert usernames(created_before=week_ago) == {"old-timer"}
    assert "old-timer" not in usernames(created_after=week_ago)
    page = client.get(USERS, {"page_size": 2}).json()
    assert page["count"] == 6 and len(page["results"]) == 2 and page["next"]
    # A misspelt filter is refused, naming it, rather than listing everyone.
    assert_error(client.get(USERS, {"rol": "ADMIN"}), 400, "rol")
    # A page size out of range falls back to the default (DRF's behaviour), it is no error.
    assert len(client.get(USERS, {"page_size": "-1"}).json()["results"]) == 6


def test_get_and_patch_one_user(client_for, admin, plain_user):
    client = client_for(admin)
    assert client.get(detail(plain_user)).json()["username"] == plain_user.username
    response = client.patch(detail(plain_user), {"email": "new@example.com"}, format="json")
    assert response.status_code == 200
    plain_user.refresh_from_db()
    assert plain_user.email == "new@example.com"


def test_deactivating_through_the_api_ends_the_users_sessions(client_for, admin, plain_user):
    victim = client_for(plain_user)
    assert victim.get(ME).status_code == 200
    response = client_for(admin).patch(detail(plain_user), {"is_active": False}, format="json")
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert not AuthSession.objects.filter(user=plain_user).exists()
    assert_error(victim.get(ME), 401)
    assert_error(login(APIClient(), plain_user.username), 401)


def test_admin_cannot_promote(client_for, admin, plain_user):
    response = client_for(admin).patch(detail(plain_user), {"role": "ADMIN"}, format="json")
    assert_error(response, 403, "role")
    plain_user.refresh_from_db()
    assert plain_user.role == Role.USER


# --- nothing returns 500 ------------------------------------------------------------------------


@pytest.mark.parametrize("user_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "1"])
def test_unknown_or_malformed_user_ids_are_json_404(client_for, admin, user_id):
    client = client_for(admin)
    assert_error(client.get(detail(user_id)), 404)
    assert_error(client.patch(detail(user_id), {}, format="json"), 404)


def test_malformed_json_is_a_json_400(client_for, admin):
    response = client_for(admin).generic(
        "POST", USERS, '{"username": ', content_type="application/json"
    )
    assert_error(response, 400)


def test_other_content_types_are_a_json_415(client_for, admin):
    response = client_for(admin).post(USERS, "username=x", content_type="text/plain")
    assert_error(response, 415)


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "x" * 100_000, "email": "a@example.com", "password": PASSWORD},
        {"username": "nul\x00byte", "email": "a@example.com", "password": PASSWORD},
        {"username": 12, "email": ["a@example.com"], "password": None, "role": "KING"},
        {"username": "u", "email": "a@" + "x" * 300 + ".com", "password": "p" * 10_000},
        [],
        "just a string",
    ],
)
def test_hostile_create_payloads_are_400(client_for, super_admin, task_queue, payload):
    response = client_for(super_admin).post(USERS, payload, format="json")
    assert_error(response, 400)


@pytest.mark.parametrize(
    "params",
    [
        {"role": "KING"},
        {"is_active": "maybe"},
        {"created_after": "yesterday"},
        {"created_after": "9999-12-31T23:59:59-23:59"},
        {"search": "s" * 10_000},
        {"search": "nul\x00"},
        {"page": "0"},
        {"page": ""},
        {"page": "abc"},
        {"page": "99"},
    ],
)
def test_hostile_list_parameters_are_4xx(client_for, admin, params):
    response = client_for(admin).get(USERS, params)
    assert 400 <= response.status_code < 500, response.content
    assert_error(response, response.status_code)


def test_patch_with_wrong_types_is_400(client_for, admin, plain_user):
    response = client_for(admin).patch(
        detail(plain_user), {"is_active": "perhaps", "email": 5}, format="json"
    )
    assert_error(response, 400, "is_active", "email")


def test_a_field_the_endpoint_does_not_take_is_400_naming_it_and_changes_nothing(
    client_for, admin, plain_user
):
    response = client_for(admin).patch(
        detail(plain_user), {"active": False, "email": "typo@example.com"}, format="json"
    )

    body = assert_error(response, 400, "active")
    assert set(body["errors"]) == {"active"}
    assert "is_active" in body["errors"]["active"][0]  # the fields it does take
    plain_user.refresh_from_db()
    assert plain_user.is_active and plain_user.email != "typo@example.com"
    created = client_for(admin).post(
        USERS,
        {"username": "new.one", "email": "n@example.com", "password": PASSWORD, "admin": 1},
        format="json",
    )
    assert_error(created, 400, "admin")
    assert not User.objects.filter(username="new.one").exists()
    body = {"username": plain_user.username, "password": PASSWORD, "remember": True}
    assert_error(APIClient().post(LOGIN, body, format="json"), 400, "remember")


def test_admin_cannot_change_another_admin(client_for, admin):
    response = client_for(admin).patch(
        detail(AdminFactory()), {"email": "x@example.com"}, format="json"
    )
    assert_error(response, 403)


@override_settings(DEBUG=False)
def test_unknown_api_paths_are_json_404(client_for, admin):
    assert_error(client_for(admin).get("/api/no-such-thing/"), 404)


@override_settings(DEBUG=False)
def test_a_body_over_the_upload_limit_is_a_json_400(client_for, admin):
    body = '{"username": "' + "x" * 3_000_000 + '"}'
    response = client_for(admin).generic("POST", USERS, body, content_type="application/json")
    assert_error(response, 400)


@pytest.mark.parametrize(
    "body",
    [
        '{"username": "a\\ud800", "email": "a@example.com", "password": "Zq9-long-password"}',
        '{"username": NaN}',
        b"\xff\xfe{",
    ],
)
def test_surrogates_and_odd_json_are_json_400(client_for, admin, body):
    response = client_for(admin).generic("POST", USERS, body, content_type="application/json")
    assert_error(response, 400)


def test_docs_and_schema_are_served(client_for, admin):
    client = client_for(admin)  # staff only (tests/security/test_api_docs.py)
    assert client.get("/api/docs/").status_code == 200
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert {"/api/auth/login/", "/api/users/", "/api/users/{user_id}/"} <= set(schema["paths"])
    assert "bearerAuth" in schema["components"]["securitySchemes"]


def test_failure_counts_live_in_the_shared_cache_when_configured(plain_user):
    """With CACHE_URL (Redis) every web process sees the same count, not one count each."""
    url = redis_url()
    require("Redis", url)
    prefix = f"test-{uuid.uuid4()}"
    redis_cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": prefix,
    }
    limit = settings.AXES_FAILURE_LIMIT
    with override_settings(CACHES={"default": redis_cache}):
        for _ in range(limit):
            assert login(APIClient(), plain_user.username, "wrong").status_code == 401
        keys = get_client_cache_keys(
            AccessAttempt(username=plain_user.username, ip_address="127.0.0.1")
        )
        # A new connection, as another process would open, sees every failure.
        other_process = caches.create_connection("default")
        assert [other_process.get(key) for key in keys] == [limit, limit]
        assert login(APIClient(), plain_user.username).status_code == 429
        other_process.delete_many(keys)
