"""Finding 13: usernames are unique without regard to case (in the database too) and look-alike
names are refused, through the API and the admin."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import SuperAdminFactory, UserFactory, open_session

pytestmark = pytest.mark.django_db
CYRILLIC_SA = "\u0455\u0430"  # DZE and A: renders as "sa"


@pytest.fixture
def api() -> APIClient:
    _session, token = open_session(SuperAdminFactory())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def create(api: APIClient, username: str):
    body = {"username": username, "email": f"{len(username)}-{id(username)}@example.com",
            "password": "correct-Horse-battery-staple-42"}  # fmt: skip
    return api.post("/api/users/", body, format="json")


@pytest.mark.parametrize(
    "username",
    ["SA", CYRILLIC_SA, "s\u0430", "\u0391\u0392"],
    ids=["case", "cyrillic", "mixed", "greek"],
)
def test_creating_a_look_alike_of_an_existing_name_is_a_400_naming_the_field(api, username):
    UserFactory(username="sa")

    response = create(api, username)

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["username"]


def test_renaming_to_another_case_of_an_existing_name_is_refused(api):
    UserFactory(username="sa")
    other = UserFactory(username="bob")

    response = api.patch(f"/api/users/{other.pk}/", {"username": "Sa"}, format="json")

    assert response.status_code == 400
    assert "already exists" in response.json()["errors"]["username"][0]


def test_the_admin_refuses_a_cyrillic_look_alike():
    site = Client()
    site.force_login(SuperAdminFactory())
    user = UserFactory(username="bob")

    response = site.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {"username": CYRILLIC_SA, "email": user.email, "role": "USER", "is_active": "on"},
    )

    assert response.status_code == 200  # the form again, with the error
    assert "looks like a Latin one" in response.content.decode()
    user.refresh_from_db()
    assert user.username == "bob"


def test_the_database_refuses_a_case_twin():
    UserFactory(username="sa")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="SA", email="other@example.com")


def test_names_in_one_non_latin_script_are_accepted(api):
    assert create(api, "\u0414\u043c\u0438\u0442\u0440\u0438\u0439").status_code == 201  # Dmitriy
