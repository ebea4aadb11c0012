"""Finding 11 (nesting): deeply nested JSON is a 400 with the usual body, never a 500."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from project.parsers import MAX_DEPTH
from tests.factories import AdminFactory, open_session

pytestmark = pytest.mark.django_db

DEEP = '{"a":' * 1500 + "1" + "}" * 1500
JUST_TOO_DEEP = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)


@pytest.fixture
def admin_api() -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {open_session(AdminFactory())[1]}")
    return client


@pytest.mark.parametrize("body", [DEEP, JUST_TOO_DEEP], ids=["1500-levels", "limit+1"])
def test_nested_json_to_login_is_a_400_for_anyone(body):
    client = APIClient(raise_request_exception=False)

    response = client.post("/api/auth/login/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"message": response.json()["message"], "errors": {}}
    assert "nested deeper" in response.json()["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/users/"), ("post", "/api/reports/")],
)
def test_nested_json_to_other_endpoints_is_a_400(admin_api, method, path):
    response = getattr(admin_api, method)(path, DEEP, content_type="application/json")

    assert response.status_code == 400, response.content
    assert set(response.json()) == {"message", "errors"}


def test_ordinary_nesting_still_parses():
    response = APIClient().post(
        "/api/auth/login/", {"username": "nobody", "password": "wrong"}, format="json"
    )
    assert response.status_code == 401
