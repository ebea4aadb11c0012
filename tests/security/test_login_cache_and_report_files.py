"""Finding 14: the login response, which carries the token, is never cached; report files hold
personal data and are readable by the app's user (and group) only."""

from __future__ import annotations

import os
import stat

import pytest
from rest_framework.test import APIClient

from tasks_app.models import UserReport
from tasks_app.services.reports.export import report_generate
from tests.factories import PASSWORD, AdminFactory, UserFactory, open_session

pytestmark = pytest.mark.django_db


def test_login_response_is_not_stored_by_any_cache():
    user = UserFactory()
    response = APIClient().post(
        "/api/auth/login/", {"username": user.username, "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert "token" in response.json()
    assert response["Cache-Control"] == "no-store"


def test_report_files_are_not_world_readable():
    previous = os.umask(0o022)  # the usual umask, under which Django writes 0644 by default
    try:
        UserFactory.create_batch(3)
        admin = AdminFactory()
        report = UserReport.objects.create(requested_by=admin, filters={})
        report_generate(report_id=report.pk)
    finally:
        os.umask(previous)

    report.refresh_from_db()
    mode = stat.S_IMODE(os.stat(report.file.path).st_mode)
    assert mode & (stat.S_IROTH | stat.S_IWOTH) == 0, oct(mode)
    assert mode in (0o600, 0o640), oct(mode)
    _session, token = open_session(admin)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get(f"/api/reports/{report.pk}/download/").status_code == 200  # still served
