"""What the review found holding, kept: browser protections on every response, foreign Host
headers refused, CSRF on session-authenticated API writes."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import AdminFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/admin/login/", "/api/users/me/", "/api/health/"])
def test_browser_protection_headers(path):
    response = Client().get(path)

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_foreign_host_header_is_refused():
    response = Client().get("/api/users/me/", HTTP_HOST="evil.example.com")

    assert response.status_code == 400
    assert response.json() == {"message": "Bad request.", "errors": {}}


def test_session_authenticated_api_write_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    client.force_login(AdminFactory())

    response = client.post(
        "/api/users/",
        {"username": "x", "email": "x@example.com", "password": "correct-Horse-42"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]
