"""Finding 12: the schema and Swagger UI are for staff, Swagger UI's assets come from this
origin, and every response carries a Content-Security-Policy that the admin and Swagger UI
live with (no inline script runs on their pages)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.test import Client, override_settings
from rest_framework.test import APIClient

from tests.factories import AdminFactory, UserFactory, open_session

pytestmark = pytest.mark.django_db
DOCS = ["/api/docs/", "/api/schema/"]


def bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {open_session(user)[1]}")
    return client


class Scripts(HTMLParser):
    """The <script> elements of a page: their attributes and whether they have inline code."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self._open: dict[str, str | None] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._open = dict(attrs)
            self.scripts.append(self._open)

    def handle_data(self, data):
        if self._open is not None and data.strip():
            self._open["inline"] = data

    def handle_endtag(self, tag):
        if tag == "script":
            self._open = None


def script_src(response) -> list[str]:
    """The script-src sources of the response's policy (default-src when it names none)."""
    policy = dict(
        (*part.strip().split(" ", 1), "")[:2]
        for part in response["Content-Security-Policy"].split(";")
        if part.strip()
    )
    return (policy.get("script-src") or policy["default-src"]).split()


def assert_no_blocked_script(response) -> None:
    """Every script would run under the policy: same-origin files, or inline code with a nonce
    the policy allows (JSON data blocks are not run)."""
    allowed = script_src(response)
    parser = Scripts()
    parser.feed(response.content.decode())
    assert parser.scripts, "the page has scripts to check"
    for script in parser.scripts:
        if script.get("type") == "application/json":
            continue
        if script.get("src"):
            assert script["src"].startswith("/"), f"script from elsewhere: {script['src']}"
            assert "'self'" in allowed
        else:
            assert script.get("inline") is None or f"'nonce-{script.get('nonce')}'" in allowed, (
                f"inline script blocked by the CSP: {script}"
            )


@pytest.mark.parametrize("path", DOCS)
def test_docs_refuse_anonymous_callers_and_plain_users(path):
    assert APIClient().get(path).status_code == 401
    assert bearer(UserFactory()).get(path).status_code == 403


@pytest.mark.parametrize("path", DOCS)
def test_docs_are_served_to_staff_by_bearer_token_or_session(path):
    assert bearer(AdminFactory()).get(path).status_code == 200
    session = Client()
    session.force_login(AdminFactory())
    assert session.get(path).status_code == 200


@pytest.mark.parametrize("path", DOCS)
def test_docs_can_be_opened_by_a_setting(path):
    with override_settings(API_DOCS_PUBLIC=True):
        assert APIClient().get(path).status_code == 200


def test_swagger_ui_assets_are_served_from_this_origin():
    client = Client()
    client.force_login(AdminFactory())

    page = client.get("/api/docs/").content.decode()

    assert "cdn." not in page and "@latest" not in page
    for src in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert src.startswith("/"), src
        if src.startswith("/static/"):
            assert finders.find(src.removeprefix("/static/")), f"{src} is not a static file"


@pytest.mark.parametrize(
    "path", ["/admin/login/", "/api/health/", "/api/users/me/", "/api/no-such-page/", "/api/docs/"]
)
def test_every_response_has_a_content_security_policy(path):
    response = Client().get(path)

    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/accounts/user/", "/admin/accounts/user/add/", "/api/docs/"],
)
def test_admin_and_swagger_pages_run_no_script_the_policy_blocks(path):
    client = Client()
    client.force_login(AdminFactory(role="SUPER_ADMIN"))

    response = client.get(path)

    assert response.status_code == 200
    assert_no_blocked_script(response)


def test_swagger_start_up_script_is_a_file_of_this_origin():
    client = Client()
    client.force_login(AdminFactory())
    page = client.get("/api/docs/").content.decode()
    script = next(src for src in re.findall(r'src="([^"]+)"', page) if "script" in src)

    response = client.get(script.replace("&amp;", "&"))

    assert response.status_code == 200
    assert "SwaggerUIBundle" in response.content.decode()
