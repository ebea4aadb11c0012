"""Finding 15 (first half): every response under /api/ is JSON in the error shape, also for an
id that the URL's converter refuses, with debug on (the review's run) or off."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import SuperAdminFactory, open_session

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/reports/null%2Cnull/",
        "/api/reports/null%2Cnull/download/",
        "/api/schedules/abc/",
        "/api/schedules/abc/run/",
        "/api/no-such-thing/",
    ],
)
def test_unmatched_api_paths_are_a_json_404(settings, debug, path):
    settings.DEBUG = debug
    _session, token = open_session(SuperAdminFactory())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"message": "Not found.", "errors": {}}


def test_the_schema_and_docs_are_still_served_before_the_catch_all():
    _session, token = open_session(SuperAdminFactory())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
