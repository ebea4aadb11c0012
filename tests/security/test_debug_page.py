"""Finding 2: debug is off unless asked for, and even the debug page shows no password."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from tests.security.conftest import (
    BROKER_PASSWORD,
    DB_PASSWORD,
    ROOT,
    production_env,
    run_manage,
)


def get(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_debug_is_off_when_not_asked_for(tmp_path):
    env = production_env(tmp_path)
    del env["DJANGO_DEBUG"]

    result = run_manage(
        env, "shell", "-c", "from django.conf import settings; print(settings.DEBUG)"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("accept", ["text/html", "text/plain"])
def test_debug_page_shows_no_database_or_broker_password(gunicorn, accept):
    base = gunicorn(DJANGO_DEBUG="true")

    status, page = get(f"{base}/fail/", Accept=accept)

    assert status == 500
    assert "a bug in a view" in page and "CELERY_BROKER_URL" in page  # the debug page it is
    assert DB_PASSWORD not in page
    assert BROKER_PASSWORD not in page


def test_parsed_environment_is_no_setting():
    import project.settings

    assert not hasattr(project.settings, "ENV")


@pytest.mark.parametrize("path", ["/fail/", "/api/fail/"])
def test_no_traceback_without_debug(gunicorn, path):
    base = gunicorn(DJANGO_SECURE_SSL_REDIRECT="false")

    status, page = get(f"{base}{path}")

    assert status == 500
    assert "Traceback" not in page and "a bug in a view" not in page
    assert DB_PASSWORD not in page and BROKER_PASSWORD not in page


def test_make_run_asks_for_debug_and_the_image_turns_it_off():
    makefile = (ROOT / "Makefile").read_text()
    assert "run run-flower: export DJANGO_DEBUG ?= true" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "DJANGO_DEBUG=false" in dockerfile.split("RUN ")[0]  # ENV, before any build step
