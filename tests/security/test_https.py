"""Finding 9: with debug off, HTTPS settings come from the environment with safe defaults, and
`manage.py check --deploy` has nothing to say about the production environment."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from tests.security.conftest import ROOT, production_env, run_manage


def request(base: str, path: str, **headers: str) -> http.client.HTTPResponse:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", path, headers=headers)
    return connection.getresponse()


def test_check_deploy_is_clean_in_production(tmp_path):
    result = run_manage(
        production_env(tmp_path),
        "check",
        "--deploy",
        "--tag",
        "security",
        "--fail-level",
        "WARNING",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_plain_http_is_redirected_except_the_health_probe(gunicorn):
    base = gunicorn()

    redirect = request(base, "/admin/login/")
    assert redirect.status == 301
    assert redirect.getheader("Location").startswith("https://127.0.0.1")
    assert request(base, "/api/health/").status in (200, 503)


def test_https_behind_the_proxy_gets_hsts_and_secure_cookies(gunicorn):
    base = gunicorn(DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")

    response = request(base, "/admin/login/", **{"X-Forwarded-Proto": "https"})

    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") == "max-age=31536000; includeSubDomains"
    cookie = response.getheader("Set-Cookie")
    assert cookie.startswith("csrftoken=") and "Secure" in cookie


def test_proxy_header_is_trusted_only_when_declared(tmp_path):
    code = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"

    default = run_manage(production_env(tmp_path), "shell", "-c", code)
    declared = run_manage(
        production_env(tmp_path, DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto"),
        "shell", "-c", code,
    )  # fmt: skip

    assert default.stdout.strip().splitlines()[-1] == "None"
    assert declared.stdout.strip().splitlines()[-1] == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_docs_say_how_tls_is_terminated():
    security = (ROOT / "docs" / "security.md").read_text()

    assert "DJANGO_SECURE_PROXY_SSL_HEADER" in security and "TLS" in security
