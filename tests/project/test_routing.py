"""`by_method`: one URL, one view per operation, each documented from its own view."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tests.factories import AdminFactory, UserFactory, open_session

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {open_session(user)[1]}")
    return client


def test_each_method_is_served_by_its_own_operation_view():
    admin, user = AdminFactory(), UserFactory()
    client = client_for(admin)

    assert client.get("/api/users/").status_code == 200
    assert client.head("/api/users/").status_code == 200
    assert client.get(f"/api/users/{user.pk}/").json()["username"] == user.username
    response = client.patch(f"/api/users/{user.pk}/", {"email": "new@example.com"}, format="json")
    assert response.json()["email"] == "new@example.com"
    # The operation's own permission answers, not a shared class's.
    assert client_for(user).get("/api/users/").status_code == 403


def test_other_methods_get_a_json_405_listing_the_routes_methods():
    response = client_for(AdminFactory()).delete("/api/users/")

    assert response.status_code == 405
    assert response.json() == {"message": 'Method "DELETE" not allowed.', "errors": {}}
    assert {m.strip() for m in response["Allow"].split(",")} >= {"GET", "POST"}


def test_the_schema_documents_each_operation_from_its_own_view():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]

    users, user = paths["/api/users/"], paths["/api/users/{user_id}/"]
    assert set(users) == {"get", "post"} and set(user) == {"get", "patch"}
    assert users["get"]["summary"] == "List users (admins)"
    assert {p["name"] for p in users["get"]["parameters"]} >= {
        "role",
        "is_active",
        "created_after",
        "created_before",
        "search",
        "page",
    }
    assert (
        "UserCreateInput"
        in users["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    )
    assert user["patch"]["summary"].startswith("Change a user")
