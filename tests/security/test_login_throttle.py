"""Findings 3 and 4: failed logins are throttled the same way on the admin and the API, per
account and per client address, counted atomically in the cache every process shares; a process
without debug refuses to start without a shared cache."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings
from rest_framework.test import APIClient

from tests.factories import PASSWORD, AdminFactory, UserFactory
from tests.security.conftest import production_env, run_manage
from tests.support.services import redis_url, require

ADMIN_LOGIN = "/admin/login/"
API_LOGIN = "/api/auth/login/"
LIMIT = settings.AXES_FAILURE_LIMIT
# The production hasher (the tests' MD5 is instant): a guess takes long enough for concurrent
# ones to overlap, as they do against a real server.
SLOW_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_counts():
    cache.clear()
    yield
    cache.clear()


def admin_login(username: str, password: str, address: str = "127.0.0.1", **headers):
    client = Client(REMOTE_ADDR=address)
    data = {"username": username, "password": password, "next": "/admin/"}
    return client, client.post(ADMIN_LOGIN, data, **headers)


def api_login(username: str, password: str, address: str = "127.0.0.1"):
    client = APIClient(REMOTE_ADDR=address)
    return client.post(API_LOGIN, {"username": username, "password": password}, format="json")


@pytest.mark.django_db
def test_admin_login_is_refused_after_the_failure_limit_even_with_the_right_password():
    admin = AdminFactory()
    for _ in range(LIMIT):
        _client, response = admin_login(admin.username, "wrong")
        assert response.status_code == 200  # the form again, with its error
    client, response = admin_login(admin.username, PASSWORD)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert client.get("/admin/").status_code == 302  # not logged in


@pytest.mark.django_db
def test_admin_login_counts_per_account_across_addresses_and_ignores_forged_forwarding():
    admin = AdminFactory()
    for i in range(LIMIT):  # a different address each time
        admin_login(admin.username, "wrong", address=f"10.0.0.{i + 1}")
    _client, response = admin_login(admin.username, PASSWORD, address="10.0.1.1")
    assert response.status_code == 429

    other = AdminFactory()
    for _ in range(LIMIT):
        admin_login(f"nobody-{uuid.uuid4().hex[:6]}", "wrong", address="10.0.2.1")
    _client, forged = admin_login(
        other.username, PASSWORD, address="10.0.2.1", HTTP_X_FORWARDED_FOR="10.9.9.9"
    )
    assert forged.status_code == 429  # the address, not the header, is the client


@pytest.mark.django_db
def test_api_gives_one_account_no_more_guesses_from_five_addresses():
    user = UserFactory()
    statuses = [
        api_login(user.username, "wrong", address=f"10.1.0.{i % 5 + 1}").status_code
        for i in range(5 * LIMIT)
    ]

    assert statuses.count(401) == LIMIT
    assert set(statuses[LIMIT:]) == {429}
    refused = api_login(user.username, PASSWORD, address="10.1.9.9")
    assert refused.status_code == 429
    assert refused.json()["message"].startswith("Too many failed logins")
    assert refused.json()["errors"] == {}


@pytest.mark.django_db
def test_api_successes_never_lock_an_account_out():
    user = UserFactory()
    for _ in range(LIMIT * 2):
        assert api_login(user.username, PASSWORD).status_code == 200
    for _ in range(LIMIT):
        assert api_login(user.username, "wrong").status_code == 401
    assert api_login(user.username, PASSWORD).status_code == 429


def concurrent_wrong_logins(base_url: str, username: str, count: int) -> list[int]:
    def attempt(_i: int) -> int:
        body = {"username": username, "password": "wrong"}
        return requests.post(base_url + API_LOGIN, json=body, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(attempt, range(count)))


@pytest.mark.parametrize("cache_kind", ["memory", "redis"])
@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_passwords_are_counted_before_they_are_checked(live_server, cache_kind):
    """The review sent 20 at once and got 20 times 401: each was checked before any was counted."""
    caches = settings.CACHES
    if cache_kind == "redis":
        url = redis_url()
        require("Redis", url)
        caches = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": f"test-{uuid.uuid4()}",
            }
        }
    with override_settings(PASSWORD_HASHERS=SLOW_HASHERS, CACHES=caches):
        user = UserFactory()
        statuses = concurrent_wrong_logins(live_server.url, user.username, 2 * LIMIT)
        cache.clear()

    # The account's and the address's counts go up one after the other, so under contention a
    # request can see one over the limit while its neighbour sees the other: never more than
    # LIMIT guesses are checked, sometimes fewer.
    assert set(statuses) == {401, 429}, statuses
    assert statuses.count(401) <= LIMIT, statuses


def test_without_debug_a_process_needs_a_shared_cache_or_says_it_is_alone(tmp_path):
    env = production_env(tmp_path)
    del env["SINGLE_PROCESS"]
    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"

    refused = run_manage(env, "shell", "-c", code)
    shared = run_manage({**env, "CACHE_URL": "redis://127.0.0.1:1/3"}, "shell", "-c", code)
    alone = run_manage({**env, "SINGLE_PROCESS": "true"}, "shell", "-c", code)

    assert refused.returncode != 0
    assert (
        refused.stderr.strip()
        .splitlines()[-1]
        .startswith("configuration error: CACHE_URL must be set when DJANGO_DEBUG is off")
    )
    assert shared.stdout.strip().splitlines()[-1] == "django.core.cache.backends.redis.RedisCache"
    assert alone.stdout.strip().splitlines()[-1].endswith("LocMemCache")
