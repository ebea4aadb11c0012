"""Finding 5: any password change (the admin's form, `manage.py changepassword`) ends the user's
API bearer sessions and Django sessions."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import PASSWORD, SuperAdminFactory, UserFactory, open_session

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "another-Staple-battery-horse-77"


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_admin_password_change_ends_the_users_bearer_tokens():
    user = UserFactory()
    _session, token = open_session(user)
    assert bearer(token).get("/api/users/me/").status_code == 200
    admin_site = Client()
    admin_site.force_login(SuperAdminFactory())

    response = admin_site.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302, response.content
    assert bearer(token).get("/api/users/me/").status_code == 401
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_admin_password_change_ends_the_users_admin_sessions():
    target = SuperAdminFactory()
    target_site = Client()
    target_site.force_login(target)
    assert target_site.get("/admin/").status_code == 200
    changer = Client()
    changer.force_login(SuperAdminFactory())

    changer.post(
        f"/admin/accounts/user/{target.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert target_site.get("/admin/").status_code == 302  # to the login page
    assert changer.get("/admin/").status_code == 200  # the changer stays logged in


def test_admin_password_form_validates_like_every_password():
    user = UserFactory()
    admin_site = Client()
    admin_site.force_login(SuperAdminFactory())

    response = admin_site.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": "1", "password2": "1", "usable_password": "true"},
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_changepassword_command_ends_the_users_sessions(monkeypatch):
    user = UserFactory()
    _session, token = open_session(user)
    monkeypatch.setenv("NEW_PASSWORD", NEW_PASSWORD)

    call_command("changepassword", user.username, "--password-env", "NEW_PASSWORD")

    assert bearer(token).get("/api/users/me/").status_code == 401
    login = APIClient().post(
        "/api/auth/login/", {"username": user.username, "password": NEW_PASSWORD}, format="json"
    )
    assert login.status_code == 200
